// SPDX-License-Identifier: MIT
#include "widgets/plot_style.h"

#include <qcustomplot.h>

namespace qat::ui {

void styleLegend(QCustomPlot* plot)
{
    plot->legend->setVisible(true);
    QFont font = plot->legend->font();
    font.setPointSizeF(font.pointSizeF() * 0.9);
    plot->legend->setFont(font);
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setBrush(Qt::NoBrush);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(0, 0.001);
    plot->legend->setMargins(QMargins(4, 2, 4, 0));
}

void showLegend(QCustomPlot* plot, bool on)
{
    auto* grid = plot->plotLayout();
    const bool placed = plot->legend->layout() == grid;
    if (on && !placed) {
        grid->addElement(0, 0, plot->legend);
    } else if (!on && placed) {
        grid->take(plot->legend);
    }
    plot->legend->setVisible(on);
    grid->setRowStretchFactor(0, 0.001);
}

QColor seriesColor(size_t i)
{
    static const QColor colors[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),
                                    QColor(214, 39, 40),  QColor(148, 103, 189), QColor(140, 86, 75),
                                    QColor(227, 119, 194), QColor(127, 127, 127)};
    return colors[i % (sizeof colors / sizeof colors[0])];
}

} // namespace qat::ui

// SPDX-License-Identifier: MIT
#pragma once

#include <QLabel>

namespace qat::ui {

/// A one-line label for texts of any length in a fixed space (a toolbar's status): a text
/// wider than the label is cut at its end with an ellipsis, never at its start, and its
/// tooltip then shows it whole. text() is always the whole text.
class ElidedLabel : public QLabel {
    Q_OBJECT
public:
    explicit ElidedLabel(QWidget* parent = nullptr);

    /// What the label paints at its current width (the text, or its elided start).
    QString shownText() const;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;
};

} // namespace qat::ui

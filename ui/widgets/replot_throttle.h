// SPDX-License-Identifier: MIT
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <set>

class QCustomPlot;

namespace qat::ui {

/// Replots live plots at a rate their drawing cost allows: training shares the cores with
/// the UI thread, so drawing must stay a small share of one core (about 2 %), and at most
/// four times a second. A plot asked for several times before its turn is drawn once.
class ReplotThrottle : public QObject {
    Q_OBJECT
public:
    explicit ReplotThrottle(QObject* parent = nullptr);

    /// Replots plot at its next turn.
    void request(QCustomPlot* plot);
    /// Replots every pending plot now (end of a run, a user action).
    void flush();
    /// Milliseconds between replots at the current drawing cost.
    int intervalMs() const;

private:
    QTimer m_timer;
    QElapsedTimer m_sinceLast;
    std::set<QCustomPlot*> m_pending;
    double m_costMs = 0; ///< smoothed cost of one round of replots
};

} // namespace qat::ui

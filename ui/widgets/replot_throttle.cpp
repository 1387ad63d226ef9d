// SPDX-License-Identifier: MIT
#include "widgets/replot_throttle.h"

#include <qcustomplot.h>

#include <algorithm>

namespace qat::ui {

namespace {
constexpr int kMinIntervalMs = 250;
constexpr int kMaxIntervalMs = 3000;
// interval = 50 x the drawing cost: 2 % of one core. Training keeps every core busy, so each
// millisecond the UI thread draws is taken from it (and a training thread it preempts holds
// up its partner at the next barrier).
constexpr double kCostShare = 50;
} // namespace

ReplotThrottle::ReplotThrottle(QObject* parent) : QObject(parent)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &ReplotThrottle::flush);
}

int ReplotThrottle::intervalMs() const
{
    return std::clamp(int(m_costMs * kCostShare), kMinIntervalMs, kMaxIntervalMs);
}

void ReplotThrottle::request(QCustomPlot* plot)
{
    m_pending.insert(plot);
    if (m_timer.isActive()) {
        return;
    }
    const qint64 since = m_sinceLast.isValid() ? m_sinceLast.elapsed() : kMaxIntervalMs;
    m_timer.start(int(std::max<qint64>(0, intervalMs() - since)));
}

void ReplotThrottle::flush()
{
    m_timer.stop();
    if (m_pending.empty()) {
        return;
    }
    QElapsedTimer cost;
    cost.start();
    const auto plots = std::move(m_pending);
    m_pending.clear();
    for (auto* plot : plots) {
        plot->replot();
    }
    const double ms = double(cost.nsecsElapsed()) / 1e6;
    m_costMs = m_costMs == 0 ? ms : 0.7 * m_costMs + 0.3 * ms;
    m_sinceLast.start();
}

} // namespace qat::ui

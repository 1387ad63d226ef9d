// SPDX-License-Identifier: MIT
#pragma once
// The History page test (tst_history): the class, its functions in tst_history.cpp (listing,
// states, notes, compare, re-run, export, sensitivity) and tst_history_live.cpp (refreshes while
// runs change, delete, thousands of runs).

#include <QObject>
#include <QString>
#include <QTemporaryDir>

class TestHistory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void listsEveryStateFiltersAndSorts();
    void unreachedPointsAreMarked();
    void statesAndMessagesAgreeEverywhere();
    void notesAndTagsAreSaved();
    void compareOverlaysRuns();
    void compareShowsWhatPlansCost();
    void rerunLoadsPlanAndSettings();
    void exportWritesFilesAndRecordsThem();
    void sensitivityPerLayer();
    void refreshesWhenTheCliAddsARun();
    void killedCliRunBecomesInterruptedWhileShown();
    void runningRowShowsWhatIsKnown();
    void refreshesWhenARunFinishesInTheWindow();
    void deleteRemovesRowsAndTraces();
    void thousandsOfRunsLoadLazily();

private:
    QTemporaryDir m_dir;
    QString m_db;
    qint64 m_finishedA = 0; ///< mct-default
    qint64 m_finishedB = 0; ///< w4a8-lsq, init auto
    qint64 m_diverged = 0;
    qint64 m_failed = 0;
    qint64 m_cancelled = 0;
    qint64 m_interrupted = 0;
};

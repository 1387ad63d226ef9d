// SPDX-License-Identifier: MIT
#pragma once
// Runs a program of this build (qatwb, the window) to its end for a test: exit code and
// both outputs. A crash reads as exit code -1.

#include "test_paths.h"
#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace qat::test {

struct ProcessResult {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

inline ProcessResult runProcess(const QString& program, const QStringList& args, int timeoutMs = 600000)
{
    QProcess process;
    process.start(program, args);
    process.waitForFinished(timeoutMs);
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1, process.readAllStandardOutput(),
            process.readAllStandardError()};
}

/// The qatwb of this build.
inline ProcessResult runCli(const QStringList& args)
{
    return runProcess(qat::test::path(QATWB_CLI), args);
}

} // namespace qat::test

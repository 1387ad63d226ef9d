// SPDX-License-Identifier: MIT
// The IDX reader on the real Fashion-MNIST files (Debian's dataset-fashion-mnist) and on
// corrupted copies of them.
#include "test_paths.h"
#include "common/error.h"
#include "training/idx_reader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

#include <numeric>

using qat::train::readIdxImages;
using qat::train::readIdxLabels;
using qat::train::readIdxSplit;

namespace {

QString realFile(const char* name)
{
    return QDir(qat::test::path(QATWB_FASHION_MNIST_DIR)).filePath(QString::fromLatin1(name));
}

QByteArray readAll(const QString& path)
{
    QFile file(path);
    file.open(QIODevice::ReadOnly);
    return file.readAll();
}

void writeAll(const QString& path, const QByteArray& data)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(data);
}

QByteArray gunzip(const QString& path)
{
    QByteArray out;
    gzFile in = gzopen(path.toLocal8Bit().constData(), "rb");
    char buffer[1 << 16];
    int got = 0;
    while ((got = gzread(in, buffer, sizeof buffer)) > 0) {
        out.append(buffer, got);
    }
    gzclose(in);
    return out;
}

QString errorOf(const std::function<void()>& call)
{
    try {
        call();
    } catch (const qat::DataError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestIdxReader : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsRealTrainingSplit();
    void readsRealTestSplit();
    void rawAndGzipAgree();
    void resolvesFashionMnistByName();
    void rejectsCorruptFiles_data();
    void rejectsCorruptFiles();
    void rejectsMismatchedCounts();
    void namesMissingFiles();

private:
    QTemporaryDir m_dir;
};

void TestIdxReader::readsRealTrainingSplit()
{
    const auto split = readIdxSplit(QATWB_FASHION_MNIST_DIR, "train");
    QCOMPARE(split.images.count, 60000);
    QCOMPARE(split.images.channels, 1);
    QCOMPARE(split.images.height, 28);
    QCOMPARE(split.images.width, 28);
    QCOMPARE(split.images.pixels.size(), size_t(60000 * 28 * 28));
    QCOMPARE(split.labels.size(), size_t(60000));
    QCOMPARE(split.classCount, 10);
    // Fashion-MNIST is balanced: 6,000 training images per class.
    std::vector<int> perClass(10, 0);
    for (auto label : split.labels) {
        ++perClass[static_cast<size_t>(label)];
    }
    QCOMPARE(perClass, std::vector<int>(10, 6000));
    const auto [lo, hi] = std::minmax_element(split.images.pixels.begin(), split.images.pixels.end());
    QCOMPARE(*lo, 0.0f);
    QCOMPARE(*hi, 1.0f);
    // The published mean pixel of the training set is 0.2860.
    const double mean = std::accumulate(split.images.pixels.begin(), split.images.pixels.end(), 0.0)
                        / static_cast<double>(split.images.pixels.size());
    QVERIFY2(std::abs(mean - 0.2860) < 5e-4, qPrintable(QString::number(mean)));
}

void TestIdxReader::readsRealTestSplit()
{
    const auto split = readIdxSplit(QATWB_FASHION_MNIST_DIR, "t10k");
    QCOMPARE(split.images.count, 10000);
    QCOMPARE(split.labels.size(), size_t(10000));
    QCOMPARE(std::count(split.labels.begin(), split.labels.end(), 9), 1000);
}

void TestIdxReader::rawAndGzipAgree()
{
    QVERIFY(m_dir.isValid());
    const auto raw = m_dir.filePath(QStringLiteral("t10k-images-idx3-ubyte"));
    writeAll(raw, gunzip(realFile("t10k-images-idx3-ubyte.gz")));
    const auto fromRaw = readIdxImages(raw.toStdString());
    const auto fromGz = readIdxImages(realFile("t10k-images-idx3-ubyte.gz").toStdString());
    QCOMPARE(fromRaw.count, fromGz.count);
    QVERIFY(fromRaw.pixels == fromGz.pixels);
}

void TestIdxReader::resolvesFashionMnistByName()
{
    QCOMPARE(QString::fromStdString(qat::train::resolveDatasetFolder("fashion-mnist")),
             qat::test::path(QATWB_FASHION_MNIST_DIR));
    const auto message = errorOf([] { qat::train::resolveDatasetFolder("/no/such/folder"); });
    QVERIFY2(message.contains(QStringLiteral("no such data folder")), qPrintable(message));
    qputenv("QATWB_DATASETS_DIR", "/nonexistent-datasets");
    const auto missing = errorOf([] { qat::train::resolveDatasetFolder("fashion-mnist"); });
    qunsetenv("QATWB_DATASETS_DIR");
    QVERIFY2(missing.contains(QStringLiteral("apt-get install dataset-fashion-mnist")), qPrintable(missing));
}

void TestIdxReader::rejectsCorruptFiles_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<bool>("images");
    QTest::addColumn<QString>("mustSay");
    const auto labels = gunzip(realFile("t10k-labels-idx1-ubyte.gz"));
    const auto images = gunzip(realFile("t10k-images-idx3-ubyte.gz"));
    const auto gz = readAll(realFile("t10k-labels-idx1-ubyte.gz"));
    QTest::newRow("empty") << QByteArray() << true << "too short";
    QTest::newRow("bad magic") << QByteArray("\x12\x34\x08\x03", 4) + images.mid(4) << true << "bad magic";
    QTest::newRow("float elements") << QByteArray("\x00\x00\x0d\x03", 4) + images.mid(4) << true
                                    << "not supported";
    QTest::newRow("labels as images") << labels << true << "1 dimensions";
    QTest::newRow("images as labels") << images << false << "3 dimensions";
    QTest::newRow("truncated raw") << images.left(images.size() / 2) << true << "truncated";
    QTest::newRow("truncated header") << images.left(10) << true << "truncated header";
    QTest::newRow("trailing data") << labels + QByteArray("xyz") << false << "data after";
    QTest::newRow("zero count") << QByteArray("\x00\x00\x08\x01\x00\x00\x00\x00", 8) << false
                                << "not a plausible size";
    QTest::newRow("truncated gzip") << gz.left(gz.size() / 2) << false << "";
    // Found by fuzz_idx_reader (tests/fuzz/regressions/idx_reader): the reader allocated
    // what a header promised before reading (86 MB here for a 42-byte file; up to 2^72
    // bytes, overflowing, for three 2^24 dimensions).
    const QString fuzzed = qat::test::path(QATWB_SOURCE_DIR, "/tests/fuzz/regressions/idx_reader/oom-header-promises-86-mb");
    QTest::newRow("fuzz: 86 MB promised") << readAll(fuzzed) << true << "the file has 26";
    QTest::newRow("2^72 bytes promised")
        << QByteArray("\x00\x00\x08\x03\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00", 16) + QByteArray(20, 'x')
        << true << "not a plausible data set";
}

void TestIdxReader::rejectsCorruptFiles()
{
    QFETCH(QByteArray, content);
    QFETCH(bool, images);
    QFETCH(QString, mustSay);
    const auto path = m_dir.filePath(QStringLiteral("corrupt.idx"));
    writeAll(path, content);
    const auto message = errorOf([&] {
        if (images) {
            readIdxImages(path.toStdString());
        } else {
            readIdxLabels(path.toStdString());
        }
    });
    QVERIFY2(!message.isEmpty(), "corrupt file accepted");
    QVERIFY2(message.startsWith(path + QStringLiteral(": ")), qPrintable(message));
    QVERIFY2(message.contains(mustSay), qPrintable(message));
}

void TestIdxReader::rejectsMismatchedCounts()
{
    // Training images with test labels: 60,000 vs 10,000.
    QTemporaryDir dir;
    QVERIFY(QFile::copy(realFile("train-images-idx3-ubyte.gz"), dir.filePath(QStringLiteral("train-images-idx3-ubyte.gz"))));
    QVERIFY(QFile::copy(realFile("t10k-labels-idx1-ubyte.gz"), dir.filePath(QStringLiteral("train-labels-idx1-ubyte.gz"))));
    const auto message = errorOf([&] { readIdxSplit(dir.path().toStdString(), "train"); });
    QVERIFY2(message.contains(QStringLiteral("10000 labels for 60000 images")), qPrintable(message));
}

void TestIdxReader::namesMissingFiles()
{
    QTemporaryDir dir;
    const auto message = errorOf([&] { readIdxSplit(dir.path().toStdString(), "train"); });
    QVERIFY2(message.contains(QStringLiteral("train-images-idx3-ubyte")), qPrintable(message));
    QVERIFY2(errorOf([] { readIdxLabels("/no/such/file.gz"); }).contains(QStringLiteral("no such file")), "");
}

QTEST_GUILESS_MAIN(TestIdxReader)
#include "tst_idx_reader.moc"

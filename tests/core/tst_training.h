// SPDX-License-Identifier: MIT
#pragma once
// The QAT engine and trainer test (tst_training): the class, its functions in tst_training.cpp
// (MCT's invariants, every model under every preset, determinism, cancel, divergence),
// tst_training_probe.cpp (the learning-rate probe), tst_training_fusion.cpp (ReLU run inside
// the quantizer after it, the input's quantizer inside the first conv) and tst_training_batch_norm.cpp (BatchNorm
// not folded, or trained and folded part-way or at the end), and the helpers they use.

#include "quantizers/quantizer_registry.h"
#include "training/tensor_dataset.h"
#include "training/train_types.h"

#include <ATen/ATen.h>
#include <QObject>
#include <QString>

namespace qat::engine {
class QatModel;
}

namespace qat::test::training {
/// A run state's name, for QCOMPARE.
QString stateName(train::RunState state);
/// The first 2048 Fashion-MNIST training images, loaded once.
const train::TensorDataset& smallTrainSet();
/// A short run of a fixture model: 10 steps at batch 64 on 1024 images, 256 to evaluate.
train::TrainConfig quickConfig(const QString& model);
/// Weights and activations calibrated on one batch of images.
void calibrate(engine::QatModel& model, const at::Tensor& images);
/// Calibrated on the first 128 training images, then `steps` Adam steps of 64 on labels.
void calibrateAndTrain(engine::QatModel& model, int steps, double weightsLr);
} // namespace qat::test::training

class TestTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void sixteenBitsIsNearFloat_data();
    void sixteenBitsIsNearFloat();
    void zeroLearningRatesChangeNothing();
    void everyModelTrainsUnderEveryPreset_data();
    void everyModelTrainsUnderEveryPreset();
    void biasOnTheIntegerKernelsGrid();
    void batchNormStatisticsMoveWhenNotFolded_data();
    void batchNormStatisticsMoveWhenNotFolded();
    void twoBitWeightsKeepFourValuesAfterTraining();
    void trainedBatchNormFoldsIntoWhatWasEvaluated_data();
    void trainedBatchNormFoldsIntoWhatWasEvaluated();
    void frozenBatchNormStaysFrozenInTraining_data();
    void frozenBatchNormStaysFrozenInTraining();
    void batchNormFoldsPartWayThenTheFoldedConvsTrain();
    void foldedWeightsStepAsBeforeTheFold();
    void sameSeedSameRun();
    void cancelStopsWithinAStep();
    void nanDivergesAndKeepsLastGoodState();
    void divergedRunEqualsRunStoppedAtLastGoodStep();
    void distillationWorksWithoutLabels();
    void badModelFailsWithMessage();
    void weightsOnTheRootModuleTrain();
    void learningRateChoiceNeedsAClearWin();
    void learningRateProbeTurnsDownATooHighRateAndRollsBack();
    void trainerUsesTheProbedRates();
    void quantizerWarmupRampsOnlyTheQuantizersRate();
    void clampsRunInsideTheirQuantizers_data();
    void clampsRunInsideTheirQuantizers();
    void inPlaceClampIsFusedOnlyWhenItsInputIsNotReadAgain();
    void inputQuantizerRunsInsideTheFirstConv_data();
    void inputQuantizerRunsInsideTheFirstConv();
    void onlyAConvReadingTheInputQuantizerAloneIsFused();
    void batchNormsRunInsideTheirQuantizers_data();
    void batchNormsRunInsideTheirQuantizers();
    void signedWeightsTrainAsTheMultiplicationsDo_data();
    void signedWeightsTrainAsTheMultiplicationsDo();

private:
    qat::quant::QuantizerRegistry m_registry;
};

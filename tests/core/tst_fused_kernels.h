// SPDX-License-Identifier: MIT
#pragma once
// The fused quantizer kernels test (tst_fused_kernels): the class, its kernel tests in
// tst_fused_kernels.cpp and the fused forms in tst_fused_kernels_fusions.cpp (a clamp, a
// convolution or a sign around the quantizer against the separate ops), and their helpers.

#include "quantizers/quantizer_registry.h"
#include "quantizers/trainable_quantizer.h"

#include "quantizer_test_util.h"

#include <ATen/ATen.h>
#include <QObject>
#include <QString>

#include <functional>
#include <vector>

namespace qat::test::fused {

struct Pass {
    at::Tensor out;
    at::Tensor dx;
    std::vector<at::Tensor> dparams;
};

using Around = std::function<at::Tensor(const at::Tensor&)>;

/// forward + backward of f (the quantizer q, with something around it) on a fresh copy of
/// input that has a gradient, upstream gradient g.
Pass runAround(quant::TrainableQuantizer& q, const Around& f, const at::Tensor& input, const at::Tensor& g);
/// runAround of q itself, with the fused kernels or the composite reference.
Pass run(quant::TrainableQuantizer& q, const at::Tensor& input, const at::Tensor& g, bool fused);
/// Equal within float rounding: a sum over n terms of size ~scale.
bool close(const at::Tensor& a, const at::Tensor& b);
/// Where fused differs from ref: values or dx not bit for bit, a parameter gradient beyond
/// rounding; empty when they agree.
QString differences(const Pass& fused, const Pass& ref, const quant::TrainableQuantizer& q);
/// differences(runAround(fusedForm), runAround(reference)) with the fused kernels and with the
/// composite reference, the first found (empty: both agree).
QString differencesBothWays(quant::TrainableQuantizer& q, const Around& reference, const Around& fusedForm,
                            const at::Tensor& input, const at::Tensor& g);
/// Every built-in quantizer's key for target (each of its methods).
std::vector<quant::QuantizerKey> keysOf(quant::Target target);
/// "<key> <bits> bit [per channel] [shape]" for messages.
QString name(const quant::QuantizerKey& key, const quant::QuantizerConfig& c, const at::Tensor& x);

} // namespace qat::test::fused

class TestFusedKernels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(77); }
    void everyBuiltinQuantizerMatchesComposite();
    void fusedClampMatchesTheOpThenTheQuantizer();
    void quantizerIntoConvMatchesTheTwoOps();
    void signedChannelsMatchTheMultiplications();
    void batchNormInFrontMatchesTheOps();
    void tiesRoundToEvenLikeLibTorch();
    void middleChannelAxisWithZeroPoints();
    void gradientsDoNotDependOnThreads();
    void frozenParametersGetNoGradient();
    void sharedGradientsAreNotWrittenOver();
    void uniformGridMatchesComposite_data();
    void uniformGridMatchesComposite();
    void thresholdStepMatchesComposite_data();
    void thresholdStepMatchesComposite();
    void largeBuffersStayCheckedUnderAddressSanitizer();

private:
    qat::quant::QuantizerRegistry& registry() { return qat::test::builtinRegistry(); }
};

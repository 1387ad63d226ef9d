// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: the quantization arithmetic the built-in quantizers share.
// Values are computed by LibTorch's own fake-quant kernels, so training, conversion and
// export agree bit for bit; gradients come from a surrogate that follows MCT's formulas.

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace qat::quant::math {

/// MCT's MIN_THRESHOLD (2^-16): the smallest threshold / step ever used.
constexpr double kMinThreshold = 1.0 / 65536.0;

/// Integer code range of a symmetric grid and the divisor 2^(bits - signed) of its step.
struct SymmetricRange {
    int64_t qmin = 0;
    int64_t qmax = 0;
    double divisor = 1; ///< step = threshold / divisor
};
SymmetricRange symmetricRange(int bits, bool isSigned);

/// 2^ceil(log2(max(t, 2^-16))), no gradient: MCT's POT rounding at init and conversion.
at::Tensor potCeil(const at::Tensor& threshold);

/// The threshold training uses: clamped to >= 2^-16 (keepPositive) and rounded up to a power
/// of two (pot); both with a straight-through gradient so the parameter keeps learning.
at::Tensor effectiveThreshold(const at::Tensor& threshold, bool keepPositive, bool pot);

/// effectiveThreshold(threshold, keepPositive, pot) / divisor, its gradient scaled by gradScale
/// (gradScale(step, g) of the same), as one autograd node: a quantizer's step costs one
/// dispatch forward and one backward instead of a dozen tiny ones per training step.
/// With the fused kernels off (setFusedKernels), thresholdStepComposite: the tensor-op reference.
at::Tensor thresholdStep(const at::Tensor& threshold, double divisor, bool keepPositive, bool pot, double gradScale);
at::Tensor thresholdStepComposite(const at::Tensor& threshold, double divisor, bool keepPositive, bool pot,
                                  double gradScale);

/// MCT's differentiable adjust_range_to_include_zero (torch version).
std::pair<at::Tensor, at::Tensor> adjustRangeToIncludeZero(const at::Tensor& lo, const at::Tensor& hi, int bits);

/// step rounded to 24 - bits significant bits (no gradient): with it, (k - zero point) * step
/// is an exact float32 number for every code k of a bits-wide grid.
at::Tensor representableStep(const at::Tensor& step, int bits);

/// A uniform grid from raw (min, max): step (differentiable), zero point (detached, float,
/// integer-valued) and the adjusted low end (differentiable). The step's value is
/// representableStep's, so gridEnds() are exact.
struct UniformGrid {
    at::Tensor step;
    at::Tensor zeroPoint;
    at::Tensor low;
};
/// stepGradScale scales the step's gradient (MCT's grad_scale for LSQ). Float tensors take one
/// autograd node computing each channel in plain float arithmetic (the same values, op for op);
/// others, and all with the fused kernels off, take uniformGridComposite, the tensor-op
/// reference it is tested against.
UniformGrid uniformGrid(const at::Tensor& lo, const at::Tensor& hi, int bits, double stepGradScale = 1.0);
UniformGrid uniformGridComposite(const at::Tensor& lo, const at::Tensor& hi, int bits, double stepGradScale = 1.0);
/// The grid's own ends, -zero point * step and (2^bits - 1 - zero point) * step (no gradient):
/// the (min, max) to export, which uniformGrid and mct_quantizers map back to the same grid.
std::pair<at::Tensor, at::Tensor> gridEnds(const UniformGrid& grid, int bits);

/// LibTorch's fake_quantize_per_channel_affine (axis >= 0) or _per_tensor_affine (axis < 0)
/// on x, without autograd. scale and zeroPoint hold one value per channel (any shape).
at::Tensor fakeQuantValue(const at::Tensor& x, const at::Tensor& scale, const at::Tensor& zeroPoint,
                          int64_t qmin, int64_t qmax, int64_t axis);

/// Forward: v. Backward: the gradient times g (MCT's grad_scale), value exactly v.
at::Tensor gradScale(const at::Tensor& v, double g);

/// How the gradient treats the clipping range.
enum class ClipGradient {
    Straight = 1, ///< STE: d/dx = 1 everywhere, d/dstep = (q - x)/step (MCT's ste_clip)
    Masked,       ///< LSQ: d/dx = 0 outside, d/dstep = (q - x)/step inside, (q - low)/step outside
    Pact,         ///< PACT: d/dx = 0 outside, d/dstep = 0 inside, (q - low)/step outside
};

/// Returns a tensor whose value is exactly q and whose gradient w.r.t. x, step and low
/// (undefined for symmetric grids) follows mode. zeroPoint/qmin/qmax/axis describe the grid
/// (needed for the clipping mask). step may be grad-scaled by the caller.
at::Tensor withQuantGradient(const at::Tensor& q, const at::Tensor& x, const at::Tensor& step,
                             const at::Tensor& low, const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax,
                             ClipGradient mode);

/// The quantizer op the built-ins use: the value of fakeQuantValue(x, step, zeroPoint, ...) with
/// the gradient of withQuantGradient(..., mode). By default a fused kernel computes it (one pass
/// forward, one pass backward producing dx and the step / low gradient sums, vectorised and
/// parallel); quantizeComposite is the reference it is tested against (same values bit for bit,
/// gradients equal within float rounding). zeroPoint and low may be undefined (zero, no low end).
at::Tensor quantize(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint,
                    int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode);

/// A ReLU (no high end; low 0) or hardtanh / ReLU6 that x goes through just before the quantizer,
/// which the engine fuses into it (a graph's relu -> quantizer): quantize(x, ..., &clamp) is
/// quantize(relu(x)) or quantize(hardtanh(x, low, high)), values and gradients as the two ops
/// compute them, in one pass each way instead of two.
struct InputClamp {
    double low = 0;
    std::optional<double> high;
};
/// The clamp op itself (at::relu, at::hardtanh).
at::Tensor applyInputClamp(const at::Tensor& x, const InputClamp& clamp);
/// quantize() after `clamp` (null: none).
at::Tensor quantize(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint,
                    int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode, const InputClamp* clamp);
/// quantize(x * sign, ...) * sign for sign +1 / -1 per channel along axis (shaped to broadcast
/// against x; undefined: none), values bit for bit and gradients as the two multiplications
/// give them, in the same single pass each way: the weights of a conv whose BatchNorm trains
/// (the deployed, folded weight is W * gamma / sigma, whose sign the grid must see).
at::Tensor quantize(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low, const at::Tensor& zeroPoint,
                    int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode, const InputClamp* clamp,
                    const at::Tensor& sign);
/// A convolution reading the quantizer's output, and nothing else reading it (the engine
/// fuses the model input's quantizer with the first layer): at::convolution's arguments.
struct ConvReader {
    at::Tensor weight;
    at::Tensor bias; ///< undefined: none
    std::vector<int64_t> stride;
    std::vector<int64_t> padding;
    std::vector<int64_t> dilation;
    bool transposed = false;
    std::vector<int64_t> outputPadding;
    int64_t groups = 1;
};
/// A ConvReader of at::convolution's arguments after the weight and bias (none set yet).
ConvReader convReader(std::vector<int64_t> stride, std::vector<int64_t> padding, std::vector<int64_t> dilation,
                      bool transposed, std::vector<int64_t> outputPadding, int64_t groups);
/// at::convolution(input, conv's weight and arguments).
at::Tensor convolve(const at::Tensor& input, const ConvReader& conv);
/// convolve(quantize(x, ...), conv), values and gradients as the two compute them. When x needs
/// no gradient (a model's input), the step's and low end's gradients are taken without the
/// convolution's input gradient, which LibTorch computes slowly for a few input channels:
/// sum(dL/dq * m) = sum(W * dL/dW evaluated on input m), for the per-element terms m of the
/// step and the low end (fused kernels, per tensor; otherwise the two ops).
at::Tensor quantizeIntoConv(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                            const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode,
                            const ConvReader& conv);
/// A BatchNorm in front of the quantizer (and of its clamp): at::batch_norm's arguments after
/// the input. While training its running statistics are updated in place, as the op does.
struct BatchNormInput {
    at::Tensor weight;      ///< gamma; undefined: 1
    at::Tensor bias;        ///< beta; undefined: 0
    at::Tensor runningMean; ///< undefined: none (then only batch statistics)
    at::Tensor runningVar;
    bool training = true;   ///< batch statistics; false: the running ones
    double momentum = 0.1;
    double eps = 1e-5;
};
/// The op itself (at::batch_norm).
at::Tensor batchNorm(const at::Tensor& x, const BatchNormInput& bn);
/// quantize(clamp(batch_norm(x)), ...) (clamp null: none) on a per-tensor grid, values and
/// gradients (x, gamma, beta, step, low) as the ops compute them, in one kernel each way: the
/// activation quantizer after a BatchNorm that trains (w2a3). BatchNorm's output is never
/// stored, and its and the quantizer's passes over memory become one (batch_norm_kernels.h).
/// Running statistics (evaluation, frozen BatchNorm), other grids, types or layouts run the
/// ops: an evaluated model then computes what its export does, bit for bit.
at::Tensor quantizeBatchNorm(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                             const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode,
                             const InputClamp* clamp, const BatchNormInput& bn);
at::Tensor quantizeComposite(const at::Tensor& x, const at::Tensor& step, const at::Tensor& low,
                             const at::Tensor& zeroPoint, int64_t qmin, int64_t qmax, int64_t axis, ClipGradient mode);

/// Whether quantize uses the fused kernels (default) or the composite reference, process-wide
/// (for the benchmark and the tests that compare the two).
void setFusedKernels(bool on);
bool fusedKernels();

/// The values of t, flattened, as floats.
std::vector<float> toFloats(const at::Tensor& t);

/// Shape of a per-channel parameter for a tensor of rank `rank`: C at axis, 1 elsewhere.
std::vector<int64_t> channelParameterShape(int64_t rank, int64_t axis, int64_t channels);

} // namespace qat::quant::math

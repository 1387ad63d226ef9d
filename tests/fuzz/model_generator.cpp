// SPDX-License-Identifier: MIT
#include "model_generator.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <memory>

namespace qat::fuzz {

namespace {

using Shape = std::vector<int64_t>;

constexpr int kMaxOps = 14;
constexpr int64_t kMaxElements = 1 << 15; ///< per sample, so one input runs in milliseconds

int64_t elements(const Shape& s)
{
    int64_t n = 1;
    for (size_t i = 1; i < s.size(); ++i) {
        n *= s[i];
    }
    return n;
}

std::string list(const std::vector<int64_t>& v)
{
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
        s += (i > 0 ? ", " : "") + std::to_string(v[i]);
    }
    return s + "]";
}

std::string repeat(int64_t v, size_t n)
{
    return list(std::vector<int64_t>(n, v));
}

// Output length of a convolution or pooling window over length n; < 1 when it does not fit.
int64_t windowOutput(int64_t n, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil)
{
    const int64_t span = n + 2 * pad - dilation * (kernel - 1) - 1;
    if (span < 0) {
        return 0;
    }
    int64_t out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil && (out - 1) * stride >= n + pad) {
        --out; // PyTorch: the last window must start inside the input or its left padding
    }
    return out;
}

class Generator {
public:
    explicit Generator(ByteReader& in)
        : m_in(in)
        , m_cu(std::make_shared<torch::jit::CompilationUnit>())
        , m_root(c10::QualifiedName("__torch__.fuzz.Model"), m_cu)
        , m_random(at::detail::createCPUGenerator(uint64_t(in.pick(256))))
    {
        m_root.register_attribute("training", c10::BoolType::get(), true);
    }

    FuzzModel make()
    {
        static const int64_t kChannels[] = {1, 3, 2};
        const int64_t channels = m_in.oneOf(kChannels);
        switch (m_in.pick(4)) {
        case 1: m_x = {2, channels, m_in.oneOf(kLengths)}; break;
        case 2: m_x = {2, channels, 4, 6, 6}; break;
        case 3: m_x = {2, channels * 4}; break; // features, no convolution
        default: m_x = {2, channels, m_in.oneOf(kSides), m_in.oneOf(kSides)}; break;
        }
        const auto input = m_x;
        for (int i = 0; i < kMaxOps && !m_in.exhausted(); ++i) {
            step(m_in.pick(16));
        }
        head();
        const auto source = "def forward(self, x):\n" + m_body + "    return x\n";
        m_root.define(source);
        return {m_root, input, source};
    }

private:
    static constexpr int64_t kSides[] = {12, 16, 28, 9};
    static constexpr int64_t kLengths[] = {20, 7, 32};

    void line(const std::string& text, int indent = 1) { m_body += std::string(size_t(indent) * 4, ' ') + text + "\n"; }
    size_t spatial() const { return m_x.size() > 2 ? m_x.size() - 2 : 0; }

    void step(int op)
    {
        switch (op) {
        case 0: case 1: conv(false); break;
        case 2: conv(true); break;
        case 3: batchNorm(); break;
        case 4: case 5: activation(); break;
        case 6: save(); break;
        case 7: residualBlock(); break;
        case 8: add(); break;
        case 9: cat(); break;
        case 10: squeezeExcite(); break;
        case 11: pool(); break;
        case 12: linear(); break;
        case 13: branch(); break;
        case 14: assertion(); break;
        default: reuseOrDropout(); break;
        }
    }

    // Parameter values: mostly plain, sometimes zero, huge, tiny or with a NaN.
    at::Tensor values(const Shape& shape, double scale)
    {
        auto t = at::randn(shape, m_random) * scale;
        switch (m_in.pick(16)) {
        case 12: t.zero_(); break;
        case 13: t.mul_(1e30); break;
        case 14: t.mul_(1e-30); break;
        case 15:
            if (t.numel() > 0) {
                t.view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
            }
            break;
        default: break;
        }
        return t;
    }

    torch::jit::Module submodule(const std::string& kind)
    {
        torch::jit::Module m(c10::QualifiedName("__torch__.fuzz." + kind + "_" + std::to_string(m_count)), m_cu);
        m.register_attribute("training", c10::BoolType::get(), true);
        return m;
    }

    // Registers m on the root; remembers it for a second call when it maps in to out.
    // Callers write `self.lN.forward(x)`: without Python, TorchScript cannot call a
    // submodule directly (`self.lN(x)` needs Python's module sugar).
    std::string attach(const torch::jit::Module& m, const Shape& in, const Shape& out)
    {
        const auto name = "l" + std::to_string(m_count++);
        m_root.register_module(name, m);
        m_layers.push_back({"self." + name, in, out});
        return "self." + name;
    }

    static void setOptional(torch::jit::Module& m, const std::string& name, const at::Tensor& t, bool present)
    {
        if (present) {
            m.register_parameter(name, t, false);
        } else {
            m.register_attribute(name, c10::OptionalType::create(c10::TensorType::get()), c10::IValue());
        }
    }

    void conv(bool transposed)
    {
        static const int64_t kOut[] = {8, 4, 16, 1, 2, 3};
        static const int64_t kKernel[] = {3, 1, 2};
        static const int64_t kStride[] = {1, 2};
        static const int64_t kPad[] = {1, 0, 2};
        static const int64_t kDilation[] = {1, 1, 2};
        const size_t n = spatial();
        if (n == 0) {
            return;
        }
        const int64_t in = m_x[1];
        int64_t out = m_in.oneOf(kOut);
        const int64_t k = m_in.oneOf(kKernel);
        const int64_t stride = m_in.oneOf(kStride);
        const int64_t pad = m_in.oneOf(kPad);
        const int64_t dilation = m_in.oneOf(kDilation);
        int64_t groups = 1;
        switch (m_in.pick(4)) {
        case 1: groups = in; out = in * (m_in.flag() ? 2 : 1); break; // depthwise
        case 2: groups = (in % 2 == 0 && out % 2 == 0) ? 2 : 1; break;
        default: break;
        }
        const int64_t outputPad = transposed && stride > 1 && m_in.flag() ? 1 : 0;
        Shape y = {m_x[0], out};
        for (size_t i = 0; i < n; ++i) {
            const int64_t l = m_x[2 + i];
            y.push_back(transposed ? (l - 1) * stride - 2 * pad + dilation * (k - 1) + outputPad + 1
                                   : windowOutput(l, k, stride, pad, dilation, false));
            if (y.back() < 1) {
                return;
            }
        }
        if (elements(y) > kMaxElements) {
            return;
        }
        const int64_t wrongIn = m_in.rarely() ? in + 1 : in; // a model that fails at its first forward
        Shape w = transposed ? Shape{wrongIn, out / groups} : Shape{out, wrongIn / groups};
        w.insert(w.end(), n, k);
        const auto weight = values(w, 1.0 / double(k * (in / groups + 1)));
        const bool bias = m_in.pick(3) != 2;
        const auto nd = std::to_string(n) + "d";
        const auto args = std::string(", ") + repeat(stride, n) + ", " + repeat(pad, n) + ", ";
        std::string call;
        std::string owner = "self";
        switch (m_in.pick(3)) {
        case 1: // as torch.jit.trace records it
            call = "torch._convolution(x, self.weight, self.bias" + args + repeat(dilation, n) + ", "
                   + (transposed ? "True" : "False") + ", " + repeat(outputPad, n) + ", " + std::to_string(groups)
                   + ", False, False, True, True)";
            break;
        case 2: { // functional, the weight held by the root module
            const auto id = std::to_string(m_count++);
            m_root.register_parameter("w" + id, weight, false);
            setOptional(m_root, "b" + id, values({out}, 0.1), bias);
            line("x = " + convCall(transposed, nd, "self.w" + id, "self.b" + id, args, dilation, outputPad, groups, n));
            m_x = y;
            return;
        }
        default: call = convCall(transposed, nd, "self.weight", "self.bias", args, dilation, outputPad, groups, n); break;
        }
        auto m = submodule(transposed ? "ConvTranspose" + nd : "Conv" + nd);
        m.register_parameter("weight", weight, false);
        setOptional(m, "bias", values({out}, 0.1), bias);
        m.define("def forward(self, x):\n    return " + call + "\n");
        line("x = " + attach(m, m_x, y) + ".forward(x)");
        m_x = y;
    }

    static std::string convCall(bool transposed, const std::string& nd, const std::string& weight, const std::string& bias,
                                const std::string& args, int64_t dilation, int64_t outputPad, int64_t groups, size_t n)
    {
        if (transposed) {
            return "torch.conv_transpose" + nd + "(x, " + weight + ", " + bias + args + repeat(outputPad, n) + ", "
                   + std::to_string(groups) + ", " + repeat(dilation, n) + ")";
        }
        return "torch.conv" + nd + "(x, " + weight + ", " + bias + args + repeat(dilation, n) + ", "
               + std::to_string(groups) + ")";
    }

    // As nn.BatchNorm scripts: an input check, the step counter, then aten::batch_norm.
    void batchNorm()
    {
        const int64_t c = m_x[1];
        const bool affine = m_in.pick(4) != 3;
        const bool track = m_in.pick(4) != 3;
        auto m = submodule("BatchNorm" + std::to_string(spatial()) + "d");
        setOptional(m, "weight", 1.0 + values({c}, 0.1), affine);
        setOptional(m, "bias", values({c}, 0.1), affine);
        if (track) {
            m.register_buffer("running_mean", values({c}, 0.1));
            auto var = at::rand({c}, m_random) + 0.5;
            switch (m_in.pick(8)) {
            case 5: var.zero_(); break;
            case 6: var.fill_(-1.0); break;
            case 7: var[0] = std::numeric_limits<float>::quiet_NaN(); break;
            default: break;
            }
            m.register_buffer("running_var", var);
            m.register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
        } else {
            for (const auto* name : {"running_mean", "running_var", "num_batches_tracked"}) {
                m.register_attribute(name, c10::OptionalType::create(c10::TensorType::get()), c10::IValue());
            }
        }
        const auto rank = std::to_string(m_x.size());
        std::string src = "def forward(self, x):\n"
                          "    if x.dim() != " + rank + ":\n"
                          "        raise ValueError(\"expected " + rank + "D input\")\n";
        if (track) {
            src += "    if self.training:\n"
                   "        self.num_batches_tracked.add_(1)\n";
        }
        src += std::string("    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, ")
               + (track ? "self.training" : "True") + ", 0.1, 1e-05, False)\n";
        m.define(src);
        line("x = " + attach(m, m_x, m_x) + ".forward(x)");
    }

    void activation()
    {
        static const char* const kForms[] = {
            "torch.relu(x)", "torch.relu_(x)", "torch.hardtanh(x, 0.0, 6.0)", "torch.hardswish(x)",
            "torch.sigmoid(x)", "torch.hardsigmoid(x)", "torch.tanh(x)", "torch.silu(x)", "torch.gelu(x)",
            "torch.hardtanh_(x, 0.0, 6.0)", "torch.leaky_relu(x, 0.1)", "torch.softplus(x)", "torch.clamp(x, 0.0, 6.0)",
            "x.relu()", "torch.elu(x)", "x * 0.5", "x - 1.0", "x / 3.0"};
        line(std::string("x = ") + m_in.oneOf(kForms));
    }

    void save()
    {
        const auto name = "s" + std::to_string(m_saved.size());
        line(name + " = x");
        m_saved.push_back({name, m_x});
    }

    // A saved value of the current shape (or with the same batch and spatial size when
    // channels may differ), or "".
    std::string saved(bool channelsMayDiffer)
    {
        for (size_t i = m_saved.size(); i-- > 0;) {
            auto s = m_saved[i].shape;
            if (channelsMayDiffer && s.size() == m_x.size() && s.size() > 1) {
                s[1] = m_x[1];
            }
            if (s == m_x) {
                return m_saved[i].name;
            }
        }
        return {};
    }

    void add()
    {
        const auto other = saved(false);
        if (other.empty()) {
            return;
        }
        static const char* const kForms[] = {"x = x + %", "x = torch.add(x, %)", "x += %", "x = % + x"};
        std::string form = m_in.oneOf(kForms);
        line(form.replace(form.find('%'), 1, other));
    }

    void residualBlock()
    {
        if (spatial() == 0) {
            return;
        }
        save();
        const auto n = spatial();
        const int64_t c = m_x[1];
        auto m = submodule("Block");
        m.register_parameter("weight", values(kernelShape(c, n), 0.2), false);
        m.define("def forward(self, x):\n    return torch.relu(torch.conv" + std::to_string(n) + "d(x, self.weight, None, "
                 + repeat(1, n) + ", " + repeat(1, n) + ", " + repeat(1, n) + ", 1))\n");
        line("x = " + attach(m, m_x, m_x) + ".forward(x)");
        if (m_in.flag()) {
            batchNorm();
        }
        add();
    }

    static Shape kernelShape(int64_t c, size_t n)
    {
        Shape w = {c, c};
        w.insert(w.end(), n, 3);
        return w;
    }

    void cat()
    {
        const auto other = saved(true);
        if (other.empty() || m_x.size() < 2) {
            return;
        }
        const auto& s = *std::find_if(m_saved.rbegin(), m_saved.rend(), [&](const auto& v) { return v.name == other; });
        auto y = m_x;
        y[1] += s.shape[1];
        if (elements(y) > kMaxElements) {
            return;
        }
        line(m_in.flag() ? "x = torch.cat([" + other + ", x], 1)" : "x = torch.cat([x, " + other + "], 1)");
        m_x = y;
    }

    void squeezeExcite()
    {
        const auto n = spatial();
        if (n == 0) {
            return;
        }
        std::vector<int64_t> dims;
        for (size_t i = 0; i < n; ++i) {
            dims.push_back(int64_t(i) + 2);
        }
        const auto mean = "torch.mean(x, " + list(dims) + ", True)";
        if (m_in.flag()) {
            line("x = x * torch.sigmoid(" + mean + ")");
            return;
        }
        Shape pooled = m_x;
        std::fill(pooled.begin() + 2, pooled.end(), 1);
        auto m = submodule("Excite");
        Shape w = {m_x[1], m_x[1]};
        w.insert(w.end(), n, 1);
        m.register_parameter("weight", values(w, 0.3), false);
        m.register_parameter("bias", values({m_x[1]}, 0.1), false);
        m.define("def forward(self, x):\n    return torch.hardsigmoid(torch.conv" + std::to_string(n)
                 + "d(x, self.weight, self.bias, " + repeat(1, n) + ", " + repeat(0, n) + ", " + repeat(1, n) + ", 1))\n");
        line("x = x * " + attach(m, pooled, pooled) + ".forward(" + mean + ")");
    }

    void pool()
    {
        static const int64_t kKernel[] = {2, 3};
        static const int64_t kStride[] = {2, 1};
        const auto n = spatial();
        if (n == 0) {
            return;
        }
        const auto nd = std::to_string(n) + "d";
        const int kind = m_in.pick(4);
        if (kind == 3) { // global: ONNX takes output size 1 only
            const int64_t out = m_in.rarely() ? 2 : 1;
            line("x = torch.adaptive_avg_pool" + nd + "(x, " + repeat(out, n) + ")");
            std::fill(m_x.begin() + 2, m_x.end(), out);
            return;
        }
        const int64_t k = m_in.oneOf(kKernel);
        const int64_t stride = m_in.oneOf(kStride);
        const int64_t pad = m_in.flag() ? k / 2 : 0;
        const bool ceil = m_in.flag();
        Shape y = m_x;
        for (size_t i = 0; i < n; ++i) {
            y[2 + i] = windowOutput(m_x[2 + i], k, stride, pad, 1, ceil);
            if (y[2 + i] < 1) {
                return;
            }
        }
        const auto window = repeat(k, n) + ", " + repeat(stride, n) + ", " + repeat(pad, n) + ", ";
        if (kind == 0 || kind == 2) {
            line("x = torch.max_pool" + nd + "(x, " + window + repeat(1, n) + ", " + (ceil ? "True" : "False") + ")");
        } else {
            line("x = torch.avg_pool" + nd + "(x, " + window + (ceil ? "True" : "False") + ", "
                 + (m_in.flag() ? "False" : "True") + ")");
        }
        m_x = y;
    }

    void flatten()
    {
        if (m_x.size() > 2) {
            line(m_in.rarely() ? "x = x.view(x.size(0), -1)" : "x = torch.flatten(x, 1)");
            m_x = {m_x[0], elements(m_x)};
        }
    }

    // A linear layer on the last dimension (after flattening, mostly).
    void linear(int64_t out = 0)
    {
        static const int64_t kOut[] = {16, 10, 4};
        if (!m_in.rarely()) {
            flatten();
        }
        out = out > 0 ? out : m_in.oneOf(kOut);
        const int64_t in = m_x.back();
        if (elements(m_x) / in * out > kMaxElements) {
            return;
        }
        auto m = submodule("Linear");
        m.register_parameter("weight", values({out, in}, 1.0 / double(in)), false);
        const bool bias = m_in.pick(4) != 3;
        setOptional(m, "bias", values({out}, 0.1), bias);
        const bool addmm = bias && m_x.size() == 2 && m_in.pick(4) == 3; // an older trace's form
        m.define(addmm ? "def forward(self, x):\n    return torch.addmm(self.bias, x, self.weight.t())\n"
                       : "def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
        Shape y = m_x;
        y.back() = out;
        line("x = " + attach(m, m_x, y) + ".forward(x)");
        m_x = y;
    }

    // `if self.flag:` around a layer: import freezes the flag and drops the other branch.
    void branch()
    {
        const auto flag = "f" + std::to_string(m_count++);
        m_root.register_attribute(flag, c10::BoolType::get(), m_in.flag());
        line("if self." + flag + ":");
        if (spatial() > 0) {
            const auto n = spatial();
            auto m = submodule("Branch");
            m.register_parameter("weight", values(kernelShape(m_x[1], n), 0.2), false);
            m.define("def forward(self, x):\n    return torch.conv" + std::to_string(n) + "d(x, self.weight, None, "
                     + repeat(1, n) + ", " + repeat(1, n) + ", " + repeat(1, n) + ", 1)\n");
            line("x = " + attach(m, m_x, m_x) + ".forward(x)", 2);
        } else {
            line("x = torch.relu(x)", 2);
        }
        line("else:");
        line("x = torch.sigmoid(x)", 2);
    }

    void assertion()
    {
        const auto rank = std::to_string(m_x.size());
        const auto channels = std::to_string(m_x[1]);
        switch (m_in.pick(5)) {
        case 1: // a raising `if` inside a raising `if`
            line("if x.dim() != " + rank + ":");
            line("if x.dim() == " + std::to_string(m_x.size() - 1) + ":", 2);
            line("raise ValueError(\"add a batch dimension\")", 3);
            line("raise ValueError(\"wrong rank\")", 2);
            break;
        case 2: // an assertion inside a plain `if`
            line("if x.size(0) > 0:");
            line("assert x.dim() == " + rank + ", \"rank\"", 2);
            break;
        case 3: line("assert x.size(1) == " + channels + " and x.dim() == " + rank); break;
        case 4: // rarely one that fails: the model cannot run
            line("assert x.size(1) == " + (m_in.rarely() ? std::to_string(m_x[1] + 1) : channels));
            break;
        default: line("assert x.size(1) == " + channels + ", \"channels\""); break;
        }
    }

    void reuseOrDropout()
    {
        for (const auto& layer : m_layers) {
            if (layer.in == m_x && m_in.flag()) {
                line("x = " + layer.name + ".forward(x)");
                m_x = layer.out;
                return;
            }
        }
        line("x = torch.dropout(x, 0.25, self.training)");
    }

    void head()
    {
        if (m_x.size() > 2 && m_in.flag()) {
            std::vector<int64_t> dims;
            for (size_t i = 2; i < m_x.size(); ++i) {
                dims.push_back(int64_t(i));
            }
            line("x = torch.mean(x, " + list(dims) + ")");
            m_x = {m_x[0], m_x[1]};
        }
        linear(10);
    }

    struct Saved {
        std::string name;
        Shape shape;
    };
    struct Layer {
        std::string name;
        Shape in;
        Shape out;
    };

    ByteReader& m_in;
    std::shared_ptr<torch::jit::CompilationUnit> m_cu;
    torch::jit::Module m_root;
    at::Generator m_random;
    Shape m_x;
    std::string m_body;
    std::vector<Saved> m_saved;
    std::vector<Layer> m_layers;
    int m_count = 0;
};

} // namespace

FuzzModel generateModel(ByteReader& in)
{
    at::NoGradGuard noGrad;
    return Generator(in).make();
}

} // namespace qat::fuzz

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The demo model's QAT step under mct-default in Python PyTorch, with the same quantizer
math as QAT Workbench's composite quantizers (BatchNorm folded; STE symmetric 8-bit
per-channel weights with a fixed threshold; STE power-of-two 8-bit activations with a
learned threshold, kept a power of two through a straight-through ceil; the input and the
logits quantized too). Run by `qatwb bench`; prints {float_ms, qat_ms, qat_over_float}.

    /usr/bin/python3 tests/bench/qat_step_python.py MODEL.pt BATCH REPEATS
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "models"))
from make_demo_model import DemoCnn, load  # noqa: E402

EPS = 2.0 ** -16


def weight_quant(w, step):
    q = torch.fake_quantize_per_channel_affine(w.detach(), step, torch.zeros_like(step, dtype=torch.int32), 0, -128, 127)
    return q + (w - w.detach())


class ActQuant(nn.Module):
    def __init__(self, threshold, signed):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor([threshold]))
        self.signed = signed

    def forward(self, x):
        t = self.threshold
        t = t + (t.clamp_min(EPS) - t).detach()
        log_t = torch.log2(t)
        t = torch.pow(2.0, log_t + (torch.ceil(log_t) - log_t).detach())
        step = t / (128.0 if self.signed else 256.0)
        qmin, qmax = (-128, 127) if self.signed else (0, 255)
        q = torch.fake_quantize_per_tensor_affine(x.detach(), step.item(), 0, qmin, qmax)
        surrogate = x + step * ((q - x.detach()) / step.detach())
        return q + (surrogate - surrogate.detach())


class QatDemo(nn.Module):
    def __init__(self, model):
        super().__init__()
        f = model.features
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.steps = []
        for conv, bn in ((f[0], f[1]), (f[4], f[5]), (f[8], f[9])):
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = (conv.weight * scale.reshape(-1, 1, 1, 1)).detach()
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter((bn.bias - bn.running_mean * scale).detach()))
        for linear in (model.classifier[1], model.classifier[3]):
            self.weights.append(nn.Parameter(linear.weight.detach().clone()))
            self.biases.append(nn.Parameter(linear.bias.detach().clone()))
        for w in self.weights:
            self.steps.append((w.detach().abs().flatten(1).amax(1).clamp_min(EPS) / 128.0).contiguous())
        self.acts = nn.ModuleList([ActQuant(1.0, False)] + [ActQuant(4.0, False) for _ in range(4)] + [ActQuant(16.0, True)])

    def forward(self, x):
        w = [weight_quant(p, s) for p, s in zip(self.weights, self.steps)]
        x = self.acts[0](x)
        x = F.max_pool2d(self.acts[1](F.relu(F.conv2d(x, w[0], self.biases[0], padding=1))), 2)
        x = F.max_pool2d(self.acts[2](F.relu(F.conv2d(x, w[1], self.biases[1], padding=1))), 2)
        x = self.acts[3](F.relu(F.conv2d(x, w[2], self.biases[2], padding=1)))
        x = self.acts[4](F.relu(F.linear(x.flatten(1), w[3], self.biases[3])))
        return self.acts[5](F.linear(x, w[4], self.biases[4]))


def main():
    model_path, batch, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(os.cpu_count() or 1)
    float_model = DemoCnn()
    float_model.load_state_dict(torch.jit.load(model_path).state_dict())
    float_model.train()
    qat = QatDemo(float_model.eval())
    float_model.train()
    qat.train()
    images, labels = load("train")
    images, labels = images[:batch * 8], labels[:batch * 8]
    opt_float = torch.optim.Adam(float_model.parameters(), lr=1e-4)
    opt_qat = torch.optim.Adam(qat.parameters(), lr=1e-4)

    def step(model, opt, i):
        b = i % 8
        x, y = images[b * batch:(b + 1) * batch], labels[b * batch:(b + 1) * batch]
        start = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        return time.perf_counter() - start

    floats, qats = [], []
    for i in range(repeats + 2):
        f, q = step(float_model, opt_float, i), step(qat, opt_qat, i)
        if i >= 2:
            floats.append(f)
            qats.append(q)
    f, q = statistics.median(floats) * 1000, statistics.median(qats) * 1000
    print(json.dumps({"float_ms": f, "qat_ms": q, "qat_over_float": q / f, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Trains float models of other architectures on Fashion-MNIST, for checking that the QAT
defaults hold on models they were not tuned on (`qatwb bench --only accuracy`).

    /usr/bin/python3 tests/bench/make_trained_zoo.py OUT_DIR

    /usr/bin/python3 tests/bench/make_trained_zoo.py OUT_DIR [NAME...]

Writes <name>_scripted.pt and <name>_traced.pt for: a residual network with depthwise-
separable blocks and hardswish, a 1-D conv net, an MLP with GELU, a squeeze-excite net with
hardswish, a net whose branches are concatenated and a CNN whose activations are all GELU. Models already in OUT_DIR are kept
(training takes minutes each on a shared CPU); NAMEs train only those. Not committed.
`qatwb bench --only accuracy --zoo OUT_DIR` measures every preset on them.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resources", "models"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_demo_model import accuracy, load  # noqa: E402
from make_fixtures import DwBlock, SqueezeExcite  # noqa: E402  (the fixture zoo's blocks)


class ResidualDw(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(32)
        self.block1 = DwBlock(32, True)
        self.down = nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False)
        self.down_bn = nn.BatchNorm2d(64)
        self.block2 = DwBlock(64, True)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = F.hardswish(self.stem_bn(self.stem(x)))
        x = self.block1(x)
        x = F.relu(self.down_bn(self.down(x)))
        x = self.block2(x)
        return self.head(x.mean((2, 3)))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 32, 9, stride=2, padding=4)
        self.bn1 = nn.BatchNorm1d(32)
        self.conv2 = nn.Conv1d(32, 64, 5, stride=2, padding=2)
        self.bn2 = nn.BatchNorm1d(64)
        self.fc = nn.Linear(64 * 196, 10)

    def forward(self, x):
        x = x.flatten(2)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu6(self.bn2(self.conv2(x)))
        return self.fc(x.flatten(1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.GELU(),
                                    nn.Linear(128, 10))

    def forward(self, x):
        return self.layers(x)


class SeHardswishNet(nn.Module):
    """MobileNetV3-like: conv-BN-hardswish stages, an inverted block with squeeze-excite."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.expand = nn.Conv2d(16, 48, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(48)
        self.dw = nn.Conv2d(48, 48, 3, stride=2, padding=1, groups=48, bias=False)
        self.dw_bn = nn.BatchNorm2d(48)
        self.se = SqueezeExcite(48, 12)
        self.proj = nn.Conv2d(48, 32, 1, bias=False)
        self.proj_bn = nn.BatchNorm2d(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = F.hardswish(self.stem_bn(self.stem(x)))
        x = F.hardswish(self.expand_bn(self.expand(x)))
        x = F.hardswish(self.dw_bn(self.dw(x)))
        x = self.proj_bn(self.proj(self.se(x)))
        return self.head(x.mean((2, 3)))


class CatBranchNet(nn.Module):
    """Fire-module-like: a 1x1 and a 3x3 branch concatenated, twice, with max pooling."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        self.left1 = nn.Conv2d(16, 16, 1)
        self.right1 = nn.Conv2d(16, 16, 3, padding=1)
        self.left2 = nn.Conv2d(32, 32, 1)
        self.right2 = nn.Conv2d(32, 32, 3, padding=1)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        x = torch.cat([F.relu(self.left1(x)), F.relu(self.right1(x))], 1)
        x = F.max_pool2d(x, 2)
        x = torch.cat([F.relu(self.left2(x)), F.relu(self.right2(x))], 1)
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


class GeluConvNet(nn.Module):
    """A plain CNN whose activations are all GELU (transformer-era convnets), with a GELU head."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 24, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        self.conv2 = nn.Conv2d(24, 48, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(48)
        self.conv3 = nn.Conv2d(48, 64, 3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.gelu(self.bn1(self.conv1(x)))
        x = F.gelu(self.bn2(self.conv2(x)))
        x = F.gelu(self.bn3(self.conv3(x)))
        x = F.gelu(self.fc1(x.mean((2, 3))))
        return self.fc2(x)


ZOO = {"residual_dw": ResidualDw, "conv1d_net": Conv1dNet, "mlp": Mlp, "se_hswish_net": SeHardswishNet,
       "cat_net": CatBranchNet, "gelu_net": GeluConvNet}


def train(model, xtr, ytr, epochs=3, batch=128):
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(ZOO)
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        sys.exit(f"unknown zoo model(s) {unknown}; the zoo has {list(ZOO)}")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    for name in names:
        cls = ZOO[name]
        if all(os.path.exists(os.path.join(out, f"{name}_{kind}.pt")) for kind in ("scripted", "traced")):
            print(f"{name}: already in {out}, kept", flush=True)
            continue
        torch.manual_seed(0)
        model = cls()
        train(model, xtr, ytr)
        print(f"{name}: float top-1 {accuracy(model, xte, yte):.4f}", flush=True)
        torch.jit.script(model).save(os.path.join(out, f"{name}_scripted.pt"))
        torch.jit.trace(model, xte[:2]).save(os.path.join(out, f"{name}_traced.pt"))


if __name__ == "__main__":
    main()

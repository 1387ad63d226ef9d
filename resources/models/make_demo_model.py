#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Trains the bundled demo model: a small conv-BN-ReLU CNN on real Fashion-MNIST.

Run with Debian's interpreter (python3-torch, dataset-fashion-mnist):
    /usr/bin/python3 resources/models/make_demo_model.py
Writes demo_cnn.pt (TorchScript, scripted, saved in eval mode) and demo_cnn.json
(architecture, seed, epochs and the measured test top-1) next to this script.
"""
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 1234
EPOCHS = 5
BATCH = 128


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    images = read_idx(f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{split}-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class DemoCnn(nn.Module):
    """conv-BN-ReLU x3 with pooling, then a two-layer classifier (the app's default input: [N,1,28,28] in [0,1])."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(inplace=True), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(os.cpu_count() or 1)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    model = DemoCnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * ((len(xtr) + BATCH - 1) // BATCH))
    gen = torch.Generator().manual_seed(SEED)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), BATCH):
            idx = perm[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: test top-1 {accuracy(model, xte, yte):.4f} "
              f"({time.time() - start:.0f} s)", file=sys.stderr)
    model.eval()
    top1 = accuracy(model, xte, yte)
    scripted = torch.jit.script(model)
    scripted.save(os.path.join(HERE, "demo_cnn.pt"))
    # The saved file must give the same accuracy when loaded back.
    reloaded = torch.jit.load(os.path.join(HERE, "demo_cnn.pt"))
    assert abs(accuracy(reloaded, xte, yte) - top1) < 1e-9
    info = {
        "file": "demo_cnn.pt",
        "format": "TorchScript (torch.jit.script), saved in eval mode",
        "input": [1, 1, 28, 28],
        "input_range": "[0, 1] (raw pixels / 255, no normalisation)",
        "dataset": "Fashion-MNIST (Debian package dataset-fashion-mnist)",
        "epochs": EPOCHS, "batch": BATCH, "seed": SEED, "optimizer": "Adam 2e-3, cosine",
        "float_test_top1": round(top1, 4),
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch_version": torch.__version__,
    }
    with open(os.path.join(HERE, "demo_cnn.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""ONNX fixtures for Tests/ReliefONNXTests: small networks built and pruned in PyTorch, exported with
torch.onnx.export (opset 13), with seeded inputs and PyTorch's outputs, so the importer is checked
against an outside producer and an outside reference.

    python3 tools/make_onnx_fixtures.py [--check]

Writes Tests/ReliefONNXTests/Fixtures/NAME.onnx and NAME.io (little-endian: u32 batch, u32 inputs
per example, u32 outputs per example, then float32 inputs, then float32 outputs). --check rebuilds
them in a temporary folder and fails if the committed inputs and outputs differ by more than 1e-6.
"""
import io
import os
import struct
import sys
import tempfile

import torch
import torch.nn as nn

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ReliefONNXTests", "Fixtures")


class SmallCNN(nn.Module):
    """conv → BN → ReLU → max pool → conv → ReLU → avg pool → flatten → linear → ReLU → linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.fc1 = nn.Linear(8 * 3 * 3, 20)
        self.fc2 = nn.Linear(20, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.nn.functional.avg_pool2d(torch.relu(self.conv2(x)), 3, stride=1, padding=1)
        x = torch.flatten(x, 1)
        return self.fc2(torch.relu(self.fc1(x)))


class Residual(nn.Module):
    """A CIFAR-style basic block (identity shortcut) then global average pooling and a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(4)
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        x = torch.relu(self.bn0(self.stem(x)))
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        x = torch.relu(x + y)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(x, 1))


def build(name):
    torch.manual_seed(7 if name == "small_cnn" else 11)
    model = SmallCNN() if name == "small_cnn" else Residual()
    shape = (1, 16, 16) if name == "small_cnn" else (3, 8, 8)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                # Prune 70% of the weights at random: the file carries real zeros.
                keep = torch.rand(m.weight.shape, generator=g) > 0.7
                m.weight.mul_(keep)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.uniform_(-0.3, 0.3, generator=g)
    model.eval()
    x = torch.rand((4,) + shape, generator=g)
    with torch.no_grad():
        y = model(x)
    buffer = io.BytesIO()
    torch.onnx.export(model, x, buffer, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, dynamo=False)
    return buffer.getvalue(), x, y


def io_bytes(x, y):
    b, n_in, n_out = x.shape[0], x[0].numel(), y[0].numel()
    return struct.pack("<III", b, n_in, n_out) + x.numpy().astype("<f4").tobytes() + y.numpy().astype("<f4").tobytes()


def write(folder):
    for name in ["small_cnn", "residual"]:
        onnx_bytes, x, y = build(name)
        open(os.path.join(folder, name + ".onnx"), "wb").write(onnx_bytes)
        open(os.path.join(folder, name + ".io"), "wb").write(io_bytes(x, y))


if __name__ == "__main__":
    if "--check" in sys.argv:
        import numpy as np
        with tempfile.TemporaryDirectory() as d:
            write(d)
            for name in ["small_cnn", "residual"]:
                a = np.frombuffer(open(os.path.join(d, name + ".io"), "rb").read()[12:], "<f4")
                b = np.frombuffer(open(os.path.join(HERE, name + ".io"), "rb").read()[12:], "<f4")
                assert a.shape == b.shape and np.abs(a - b).max() <= 1e-6, name
        print("onnx fixtures: up to date")
    else:
        os.makedirs(HERE, exist_ok=True)
        write(HERE)
        print("wrote", HERE)

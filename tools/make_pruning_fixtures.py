#!/usr/bin/env python3
"""Golden NNrelief scores computed with PyTorch, for the Swift pruning tests.

An independent implementation of the paper's formulas on random data: for a linear layer
mean_n |w_ji x_ni| and |b_j|; for a convolution, per (filter j, input channel i) the map
|K_ji| * |x_ni| computed with torch's conv2d, summarised three ways (the paper's mean of Frobenius
norms; the authors' code's norm of the batch-mean map; its L1 variant), with the bias terms
|b|·sqrt(h·w) and |b|·h·w. Writes Tests/ReliefPruningTests/Fixtures/scores.safetensors.

    python3 tools/make_pruning_fixtures.py
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ReliefPruningTests", "Fixtures")


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        data = tensors[key].detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(tensors[key].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    out = {}
    # Linear: 6 outputs, 9 inputs, 50 samples of post-ReLU-like inputs (some exactly zero).
    w, b = torch.randn(6, 9), torch.randn(6)
    x = torch.relu(torch.randn(50, 9))
    contrib = (w.abs().unsqueeze(0) * x.abs().unsqueeze(1)).mean(0)  # [6, 9]
    out.update({"linear.weight": w, "linear.bias": b, "linear.x": x,
                "linear.scores": torch.cat([contrib, b.abs().unsqueeze(1)], 1)})
    # Convolution: 4 filters, 3 input channels, 3x3 kernel, stride 2, padding 1, on 20 samples of 7x6.
    k, cb = torch.randn(4, 3, 3, 3), torch.randn(4)
    xc = torch.randn(20, 3, 7, 6)
    maps = torch.stack([F.conv2d(xc[:, i:i + 1].abs(), k[:, i:i + 1].abs(), stride=2, padding=1) for i in range(3)], 2)  # [N, O, C, h, w]
    h, wd = maps.shape[-2], maps.shape[-1]
    paper = maps.flatten(3).norm(dim=3).mean(0)  # [O, C]
    mean_maps = torch.stack([F.conv2d(xc[:, i:i + 1].abs().mean(0, keepdim=True), k[:, i:i + 1].abs(), stride=2, padding=1)
                             for i in range(3)], 2)[0]  # [O, C, h, w]
    mean_map = mean_maps.flatten(2).norm(dim=2)
    mean_map_l1 = mean_maps.flatten(2).sum(2)
    root = (h * wd) ** 0.5
    out.update({"conv.weight": k, "conv.bias": cb, "conv.x": xc,
                "conv.scores.paper": torch.cat([paper, (cb.abs() * root).unsqueeze(1)], 1),
                "conv.scores.mean-map": torch.cat([mean_map, (cb.abs() * root).unsqueeze(1)], 1),
                "conv.scores.mean-map-l1": torch.cat([mean_map_l1, (cb.abs() * h * wd).unsqueeze(1)], 1)})
    save(os.path.join(OUT, "scores.safetensors"), out)
    print(f"wrote {os.path.normpath(OUT)}/scores.safetensors")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Seconds per training epoch of PyTorch on MNIST, the baseline of `relief-bench train`.

Same models, initialisation rules, optimiser (Adam lr 1e-3, weight decay 5e-4), batch size and
thread count as Relief; pixels as byte/255. Prints one JSON object per model.
    python3 bench/pytorch_epoch.py --data data --threads 2 --epochs 1 --models lenet-300-100 lenet-5
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from relief_torch import lenet, mnist  # noqa: E402


def make(name):
    m = lenet(name)
    if m is None:
        raise SystemExit(f"unknown model {name}")
    for mod in m.modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(mod.weight)
    return m


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.environ.get("RELIEF_DATA", "data"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=120)
    p.add_argument("--models", nargs="+", default=["lenet-300-100", "lenet-5"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images, labels = mnist(args.data, "train")
    for name in args.models:
        model = make(name)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
        times = []
        for _ in range(args.epochs):
            order = torch.randperm(len(labels))
            start = time.perf_counter()
            model.train()
            for b in range(0, len(labels), args.batch_size):
                idx = order[b:b + args.batch_size]
                opt.zero_grad()
                loss = F.cross_entropy(model(images[idx]), labels[idx])
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - start)
        print(json.dumps({"model": name, "secondsPerEpoch": min(times), "epochs": args.epochs, "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Opens a Relief checkpoint with PyTorch's safetensors loader and, for the LeNets, evaluates it in
PyTorch on the MNIST test set: an outside check of both the file and the trained model.

    pip install torch==2.13.0+cpu safetensors
    python3 tools/check_checkpoint_pytorch.py runs/lenet-5-mnist/checkpoint.safetensors [--data data]

Prints the test accuracy PyTorch computes next to the one Relief recorded; exits 1 if they differ by
more than one image in ten thousand.
"""
import argparse
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from relief_torch import lenet, mnist


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--data", default=os.environ.get("RELIEF_DATA", "data"))
    args = p.parse_args()
    tensors = load_file(args.checkpoint)
    with safe_open(args.checkpoint, "pt") as f:
        meta = f.metadata()
    weights = {k: v for k, v in tensors.items() if not k.startswith(("optimizer.", "mask."))}
    print(f"{args.checkpoint}: {meta['model']} after epoch {meta['epoch']}, {len(weights)} weight tensors, "
          f"{sum(v.numel() for v in weights.values())} values; safetensors loaded it")
    model = lenet(meta["model"])
    if model is None:
        print("not a LeNet: file checked, no evaluation")
        return
    model.load_state_dict(weights)
    model.eval()
    images, labels = mnist(args.data, "t10k")
    with torch.no_grad():
        correct = sum((model(images[i:i + 1000]).argmax(1) == labels[i:i + 1000]).sum().item() for i in range(0, len(labels), 1000))
    accuracy = correct / len(labels)
    recorded = json.loads(meta["history"])[-1]["testAccuracy"]
    print(f"test accuracy: PyTorch {100 * accuracy:.2f}%, Relief recorded {100 * recorded:.2f}%")
    if abs(accuracy - recorded) > 1e-4 + 1e-9:
        sys.exit("error: PyTorch and Relief disagree on this model")


if __name__ == "__main__":
    main()

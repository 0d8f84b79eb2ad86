#!/usr/bin/env python3
"""Inputs for one model: up to 64 raw uint8 examples (MNIST test images for 1x28x28 models, seeded
random bytes otherwise) as NAME.u8 for relief-infer, and the same normalised with the model's
metadata as NAME.f32 for the peers. Prints the input shape."""
import gzip
import glob
import json
import subprocess
import sys

import numpy as np

bin_dir, rlf, stem = sys.argv[1:4]
meta = json.loads(subprocess.run([bin_dir + "/relief-inspect", rlf, "--json"], capture_output=True, text=True, check=True).stdout)
inp = meta["metadata"]["architecture"]["input"]
shape = inp["shape"]
n = 64
if shape == [1, 28, 28] and glob.glob("data/mnist/t10k-images-idx3-ubyte*"):
    path = sorted(glob.glob("data/mnist/t10k-images-idx3-ubyte*"))[0]
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    raw = np.frombuffer(data[16:16 + n * 784], np.uint8).reshape(n, 1, 28, 28)
else:
    raw = np.random.default_rng(1234).integers(0, 256, size=(n, *shape), dtype=np.uint8)
raw.tofile(stem + ".u8")
norm = inp["normalization"]
c = shape[0] if len(shape) == 3 else 1
mean = np.array(norm["mean"] * (c if len(norm["mean"]) == 1 else 1), np.float32).reshape((1, c) + (1,) * (len(shape) - 1))
std = np.array(norm["std"] * (c if len(norm["std"]) == 1 else 1), np.float32).reshape((1, c) + (1,) * (len(shape) - 1))
x = (raw.astype(np.float32) * np.float32(norm["scale"]) - mean) / std
x.astype("<f4").tofile(stem + ".f32")
print(" ".join(map(str, shape)))

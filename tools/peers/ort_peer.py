#!/usr/bin/env python3
"""ONNX Runtime (CPU, dense) on an ONNX file Relief exported. Prints one JSON line."""
import argparse

import numpy as np
import onnxruntime as ort

import common

p = argparse.ArgumentParser()
for a in ["--onnx", "--inputs", "--reference"]:
    p.add_argument(a, required=True)
p.add_argument("--shape", type=int, nargs="+", required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--seconds", type=float, default=1.0)
args = p.parse_args()
o = ort.SessionOptions()
o.intra_op_num_threads = args.threads
o.inter_op_num_threads = 1
s = ort.InferenceSession(args.onnx, o, providers=["CPUExecutionProvider"])
name = s.get_inputs()[0].name
x, ref = common.load(args.inputs, args.reference, args.shape)
y = s.run(None, {name: x})[0]
error = np.abs(y - ref).max() / max(1.0, np.abs(ref).max())
xb = common.batch_of(x, args.batch)
result = common.timed(lambda: s.run(None, {name: xb}), args.seconds)
common.report("onnxruntime", ort.__version__, args.batch, args.threads, result, error)

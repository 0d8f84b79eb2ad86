#!/usr/bin/env python3
"""ONNX Runtime (CPU, dense) on an ONNX file Relief exported. Prints one JSON line."""

import numpy as np
import onnxruntime as ort

import common

args = common.arguments()
o = ort.SessionOptions()
o.intra_op_num_threads = args.threads
o.inter_op_num_threads = 1
s = ort.InferenceSession(args.onnx, o, providers=["CPUExecutionProvider"])
name = s.get_inputs()[0].name
x, ref = common.load(args.inputs, args.reference, args.shape)
y = s.run(None, {name: x})[0]
error = common.relative_error(y, ref)
xb = common.batch_of(x, args.batch)
result = common.timed(lambda: s.run(None, {name: xb}), args.seconds)
common.report("onnxruntime", ort.__version__, args.batch, args.threads, result, error)

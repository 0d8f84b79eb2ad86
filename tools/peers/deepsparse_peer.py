#!/usr/bin/env python3
"""DeepSparse (Neural Magic's sparse CPU runtime) on an ONNX file Relief exported. Runs in its own
virtual environment (tools/peers/setup_deepsparse.sh): it pins numpy<2 and onnx<1.15, and its
licence allows evaluation only, so it is never a dependency of Relief. Prints one JSON line."""
import argparse
import os

os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
import numpy as np
import deepsparse
from deepsparse import compile_model

import common

p = argparse.ArgumentParser()
for a in ["--onnx", "--inputs", "--reference"]:
    p.add_argument(a, required=True)
p.add_argument("--shape", type=int, nargs="+", required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--seconds", type=float, default=1.0)
args = p.parse_args()
x, ref = common.load(args.inputs, args.reference, args.shape)
check = compile_model(args.onnx, batch_size=x.shape[0], num_cores=args.threads)
y = check.run([x])[0]
error = np.abs(y - ref).max() / max(1.0, np.abs(ref).max())
engine = compile_model(args.onnx, batch_size=args.batch, num_cores=args.threads)
xb = common.batch_of(x, args.batch)
result = common.timed(lambda: engine.run([xb]), args.seconds)
common.report("deepsparse", deepsparse.__version__, args.batch, args.threads, result, error)

#!/usr/bin/env python3
"""DeepSparse (Neural Magic's sparse CPU runtime) on an ONNX file Relief exported. Runs in its own
virtual environment (tools/peers/setup_deepsparse.sh): it pins numpy<2 and onnx<1.15, and its
licence allows evaluation only, so it is never a dependency of Relief. Prints one JSON line."""
import os

os.environ.setdefault("NM_DISABLE_ANALYTICS", "1")
import numpy as np
import deepsparse
from deepsparse import compile_model

import common

args = common.arguments()
x, ref = common.load(args.inputs, args.reference, args.shape)
check = compile_model(args.onnx, batch_size=x.shape[0], num_cores=args.threads)
y = check.run([x])[0]
error = common.relative_error(y, ref)
engine = compile_model(args.onnx, batch_size=args.batch, num_cores=args.threads)
xb = common.batch_of(x, args.batch)
result = common.timed(lambda: engine.run([xb]), args.seconds)
common.report("deepsparse", deepsparse.__version__, args.batch, args.threads, result, error)

#!/usr/bin/env python3
"""SciPy CSR on the weights of an ONNX file Relief exported: CSR x dense for Gemm, im2col + CSR for
Conv, NumPy for everything else. Prints one JSON line. (SciPy's sparse products are single-threaded.)"""

import numpy as np
import scipy
import scipy.sparse as sp
from numpy.lib.stride_tricks import sliding_window_view

import common
import onnx_graph

args = common.arguments()
nodes, W, input_name, output_name = onnx_graph.load(args.onnx)
csr = {ins[1]: sp.csr_matrix(W[ins[1]].reshape(W[ins[1]].shape[0], -1)) for op, ins, _, _ in nodes if op in ("Gemm", "Conv")}


def pool(x, k, s, pads, op):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])), constant_values=-np.inf if op == "max" else 0)
    win = sliding_window_view(x, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
    return win.max((4, 5)) if op == "max" else win.mean((4, 5))


def run(x):
    v = {input_name: x}
    for op, ins, outs, a in nodes:
        i = [v.get(n, W.get(n)) for n in ins]
        if op == "Gemm":
            y = (csr[ins[1]] @ i[0].T).T
            if len(i) > 2:
                y = y + i[2]
        elif op == "Conv":
            w = W[ins[1]]
            pads, s = a.get("pads", [0, 0, 0, 0]), a.get("strides", [1, 1])
            xp = np.pad(i[0], ((0, 0), (0, 0), (pads[0], pads[0]), (pads[1], pads[1])))
            win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::s[0], ::s[1]]  # N C OH OW kh kw
            n, c, oh, ow = win.shape[:4]
            cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * w.shape[2] * w.shape[3], n * oh * ow)
            y = (csr[ins[1]] @ cols).reshape(w.shape[0], n, oh, ow).transpose(1, 0, 2, 3)
            if len(i) > 2:
                y = y + i[2].reshape(1, -1, 1, 1)
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op in ("MaxPool", "AveragePool"):
            y = pool(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), a.get("pads", [0, 0])[:2], "max" if op == "MaxPool" else "avg")
        elif op == "GlobalAveragePool":
            y = i[0].mean((2, 3), keepdims=True)
        elif op == "Flatten":
            y = i[0].reshape(i[0].shape[0], -1)
        elif op == "Softmax":
            e = np.exp(i[0] - i[0].max(1, keepdims=True))
            y = e / e.sum(1, keepdims=True)
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Slice":
            y = i[0][:, :, ::int(i[4][0]), ::int(i[4][1])]
        elif op == "Pad":
            c = int(i[1][1])
            y = np.pad(i[0], ((0, 0), (c, c), (0, 0), (0, 0)))
        else:
            raise SystemExit(f"unsupported op {op}")
        v[outs[0]] = np.ascontiguousarray(y, dtype=np.float32)
    return v[output_name]


x, ref = common.load(args.inputs, args.reference, args.shape)
y = run(x)
error = common.relative_error(y, ref)
xb = common.batch_of(x, args.batch)
result = common.timed(lambda: run(xb), args.seconds)
common.report("scipy-csr", scipy.__version__, args.batch, args.threads, result, error)

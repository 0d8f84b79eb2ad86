#!/usr/bin/env python3
"""PyTorch CPU on the weights of an ONNX file Relief exported: dense (torch.nn.functional) or
sparse (torch.sparse CSR weights for Gemm; im2col + CSR for Conv). Prints one JSON line."""

import numpy as np
import torch
import torch.nn.functional as F

import common
import onnx_graph

args = common.arguments(lambda p: p.add_argument("--sparse", action="store_true"))
torch.set_num_threads(args.threads)
nodes, weights, input_name, output_name = onnx_graph.load(args.onnx)
W = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
sparse = {}
if args.sparse:
    for op, ins, outs, a in nodes:
        if op in ("Gemm", "Conv"):
            w = W[ins[1]]
            sparse[ins[1]] = w.reshape(w.shape[0], -1).to_sparse_csr()


def run(x):
    v = {input_name: x}
    for op, ins, outs, a in nodes:
        i = [v.get(n, W.get(n)) for n in ins]
        if op == "Gemm":
            if args.sparse:
                y = torch.sparse.mm(sparse[ins[1]], i[0].t()).t()
            else:
                y = i[0] @ i[1].t()
            if len(i) > 2:
                y = y + i[2]
        elif op == "Conv":
            pads, strides = a.get("pads", [0, 0, 0, 0]), a.get("strides", [1, 1])
            if args.sparse:
                w = W[ins[1]]
                n, _, h, wd = i[0].shape
                cols = F.unfold(i[0], w.shape[2:], padding=pads[:2], stride=strides)  # [N, C·kh·kw, L]
                oh = (h + 2 * pads[0] - w.shape[2]) // strides[0] + 1
                ow = (wd + 2 * pads[1] - w.shape[3]) // strides[1] + 1
                flat = cols.permute(1, 0, 2).reshape(cols.shape[1], -1)
                y = torch.sparse.mm(sparse[ins[1]], flat).reshape(w.shape[0], n, oh, ow).permute(1, 0, 2, 3)
                if len(i) > 2:
                    y = y + i[2].reshape(1, -1, 1, 1)
            else:
                y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=strides, padding=pads[:2])
        elif op == "Relu":
            y = torch.relu(i[0])
        elif op == "MaxPool":
            y = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides"), a.get("pads", [0, 0])[:2])
        elif op == "AveragePool":
            y = F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides"), a.get("pads", [0, 0])[:2], count_include_pad=True)
        elif op == "GlobalAveragePool":
            y = i[0].mean((2, 3), keepdim=True)
        elif op == "Flatten":
            y = torch.flatten(i[0], 1)
        elif op == "Softmax":
            y = torch.softmax(i[0], 1)
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Slice":
            y = i[0][:, :, ::int(i[4][0]), ::int(i[4][1])]
        elif op == "Pad":
            c = int(i[1][1])
            y = F.pad(i[0], (0, 0, 0, 0, c, c))
        else:
            raise SystemExit(f"unsupported op {op}")
        v[outs[0]] = y
    return v[output_name]


x, ref = common.load(args.inputs, args.reference, args.shape)
with torch.inference_mode():
    y = run(torch.from_numpy(x)).numpy()
    error = common.relative_error(y, ref)
    xb = torch.from_numpy(common.batch_of(x, args.batch))
    result = common.timed(lambda: run(xb), args.seconds)
common.report("pytorch-sparse" if args.sparse else "pytorch", torch.__version__, args.batch, args.threads, result, error)

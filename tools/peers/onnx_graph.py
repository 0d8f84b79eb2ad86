"""A small interpreter of the ONNX graphs Relief exports (Gemm, Conv, Relu, MaxPool, AveragePool,
GlobalAveragePool, Flatten, Softmax, Add, Slice, Pad) in PyTorch or NumPy/SciPy, so PyTorch and
SciPy run exactly the weights of the .rlf file."""
import numpy as np
import onnx
from onnx import numpy_helper


def load(path):
    m = onnx.load(path)
    weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    attrs = []
    for n in m.graph.node:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        attrs.append((n.op_type, list(n.input), list(n.output), a))
    return attrs, weights, m.graph.input[0].name, m.graph.output[0].name

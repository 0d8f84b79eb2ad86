"""What Relief's PyTorch-side scripts share: MNIST from the IDX files, and the LeNets with the
same layer names as Relief's model zoo (so a Relief checkpoint loads as their state_dict)."""
import os
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn


def load_idx(path):
    """An unsigned-byte IDX file as a numpy array."""
    with open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def mnist(data, split):
    """Images as [N, 1, 28, 28] floats byte/255 (ToTensor) and int64 labels; split is "train" or "t10k"."""
    images = load_idx(os.path.join(data, "mnist", f"{split}-images-idx3-ubyte")).astype(np.float32) / 255
    labels = load_idx(os.path.join(data, "mnist", f"{split}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


def lenet(name):
    """lenet-300-100 or lenet-5 with Relief's layer names, or None for another model."""
    if name == "lenet-300-100":
        layers = [("flatten", nn.Flatten()), ("fc1", nn.Linear(784, 300)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(300, 100)),
                  ("relu2", nn.ReLU()), ("fc3", nn.Linear(100, 10))]
    elif name == "lenet-5":
        layers = [("conv1", nn.Conv2d(1, 20, 5)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)), ("conv2", nn.Conv2d(20, 50, 5)),
                  ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)), ("flatten", nn.Flatten()), ("fc1", nn.Linear(800, 500)),
                  ("relu3", nn.ReLU()), ("fc2", nn.Linear(500, 10))]
    else:
        return None
    return nn.Sequential(OrderedDict(layers))

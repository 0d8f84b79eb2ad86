"""What every peer script shares: reading the inputs and reference outputs Relief wrote, timing, and
the JSON line each peer prints."""
import argparse
import json
import statistics
import time

import numpy as np


def arguments(extra=None):
    """The options every peer takes (the ONNX file, Relief's inputs and outputs, shape, batch,
    threads, seconds); `extra(parser)` adds a peer's own."""
    p = argparse.ArgumentParser()
    for a in ["--onnx", "--inputs", "--reference"]:
        p.add_argument(a, required=True)
    p.add_argument("--shape", type=int, nargs="+", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--seconds", type=float, default=1.0)
    if extra:
        extra(p)
    return p.parse_args()


def relative_error(y, ref):
    """Largest difference from Relief's outputs, relative to their largest magnitude (at least 1)."""
    return np.abs(y - ref).max() / max(1.0, np.abs(ref).max())


def load(inputs, reference, shape):
    """Normalised float32 inputs [N, *shape] and Relief's outputs [N, outputs]."""
    x = np.fromfile(inputs, "<f4").reshape((-1,) + tuple(shape))
    y = np.fromfile(reference, "<f4").reshape(x.shape[0], -1)
    return x, y


def batch_of(x, batch):
    """The first `batch` inputs, repeated if there are fewer."""
    reps = -(-batch // x.shape[0])
    return np.ascontiguousarray(np.concatenate([x] * reps)[:batch])


def timed(run, seconds, minimum=20):
    """Median and 99th percentile milliseconds of run() over at least `seconds` and `minimum` runs
    (after 3 warm-ups); a slow peer stops after 5 runs once 10 seconds have gone."""
    for _ in range(3):
        run()
    samples, total = [], 0.0
    while (len(samples) < minimum or total < seconds) and not (len(samples) >= 5 and total >= 10):
        start = time.perf_counter()
        run()
        t = time.perf_counter() - start
        samples.append(t)
        total += t
    samples.sort()
    return 1000 * statistics.median(samples), 1000 * samples[min(len(samples) - 1, int(0.99 * (len(samples) - 1) + 0.5))], len(samples)


def report(peer, version, batch, threads, result, error, reps_note=""):
    median, p99, reps = result
    print(json.dumps({"peer": peer, "version": version, "batch": batch, "threads": threads, "median_ms": median,
                      "p99_ms": p99, "repetitions": reps, "max_error": float(error), "ok": bool(error <= 1e-3)}))

#!/usr/bin/env python3
"""Write the .rlf test corpus: valid files and one broken file per way a file can be wrong.

This is a second, independent implementation of formats/rlf.md (its own XXH64, layout and
encodings, zstd through the `zstd` command), so the Swift reader is checked against the spec
rather than against its own writer. Output:

  formats/corpus/good/NAME.rlf   valid files; NAME.json beside each lists every tensor's shape,
                                 encoding and element bit patterns, which the Swift tests compare
  formats/corpus/bad/NAME.rlf    broken files; bad/expected.tsv names the RLFError case each must raise

Deterministic: running it again rewrites the same bytes.
Usage: python3 tools/make_rlf_corpus.py [--check]   (--check: fail if the committed corpus differs)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats", "corpus")
MAGIC = bytes([0x89, 0x52, 0x4C, 0x46, 0x0D, 0x0A, 0x1A, 0x0A])
M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5


# --- XXH64 (seed 0), from the xxHash specification -------------------------------------------

def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    return (_rotl((acc + lane * P2) & M64, 31) * P1) & M64


def xxh64(data):
    n, i = len(data), 0
    if n >= 32:
        v = [(P1 + P2) & M64, P2, 0, (-P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = ((h ^ _round(0, v[k])) * P1 + P4) & M64
    else:
        h = P5
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


assert xxh64(b"") == 0xEF46DB3751D8E999 and xxh64(b"abc") == 0x44BC2CF5AD770999


# --- zstd -----------------------------------------------------------------------------------

def zstd(data, with_size=True):
    """One zstd frame; with_size=False streams it so the frame header carries no content size."""
    if with_size:
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            return subprocess.run(["zstd", "-q", "-c", "-19", "--no-check", f.name], check=True, capture_output=True).stdout
    return subprocess.run(["zstd", "-q", "-c", "-19", "--no-check"], input=data, check=True, capture_output=True).stdout


# --- payloads -------------------------------------------------------------------------------

def f32bits(values):
    return [struct.unpack("<I", struct.pack("<f", v))[0] for v in values]


def value_bytes(bits, shuffled):
    raw = b"".join(struct.pack("<I", b) for b in bits)
    if not shuffled:
        return raw
    return b"".join(bytes(raw[4 * i + p] for i in range(len(bits))) for p in range(4))


def uint(v, w):
    return v.to_bytes(w, "little")


def matrix_view(dims):
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return 1, dims[0]
    c = 1
    for d in dims[1:]:
        c *= d
    return dims[0], c


def int_bytes(values, w, shuffled):
    if not shuffled:
        return b"".join(uint(v, w) for v in values)
    return b"".join(bytes((v >> (8 * b)) & 0xFF for v in values) for b in range(w))


def encode_tensor(name, dims, values, encoding, shuffled=False, delta=False, row_width=None, col_width=None, shuffled_index=False):
    """Directory record and payload of a float32 tensor given row-major `values`."""
    bits = f32bits(values)
    rows, cols = matrix_view(dims)
    nz = [(k, b) for k, b in enumerate(bits) if b != 0]
    flags = (1 if shuffled else 0) | (2 if delta else 0) | (4 if shuffled_index else 0)
    rw = cw = 0
    if encoding == 0:
        payload = value_bytes(bits, shuffled)
    elif encoding == 1:
        counts, cols_out = [], []
        for r in range(rows):
            row = [k - r * cols for k, _ in nz if r * cols <= k < (r + 1) * cols]
            counts.append(len(row))
            prev = None
            for c in row:
                cols_out.append(c if (prev is None or not delta) else c - prev)
                prev = c
        rw = row_width or next(w for w in (1, 2, 4, 8) if max(counts + [0]) < (1 << (8 * w)))
        cw = col_width or next(w for w in (1, 2, 4) if max(cols_out + [0]) < (1 << (8 * w)))
        payload = int_bytes(counts, rw, shuffled_index) + int_bytes(cols_out, cw, shuffled_index) + value_bytes([b for _, b in nz], shuffled)
    else:
        mask = bytearray((len(bits) + 7) // 8)
        for k, _ in nz:
            mask[k >> 3] |= 1 << (k & 7)
        payload = bytes(mask) + value_bytes([b for _, b in nz], shuffled)
    rec = record(name, encoding, dims, len(nz), flags, rw, cw)
    return rec, payload, {"name": name, "shape": dims, "encoding": ["dense", "csr", "bitmask"][encoding], "bits": bits}


def record(name, encoding, dims, nnz, flags=0, rw=0, cw=0, dtype=1, rank=None, name_bytes=None):
    nb = name.encode() if name_bytes is None else name_bytes
    rank = len(dims) if rank is None else rank
    return (struct.pack("<BBBBBBHQ", encoding, dtype, rank, flags, rw, cw, len(nb), nnz)
            + b"".join(struct.pack("<Q", d) for d in dims) + nb)


def directory(records, count=None):
    return struct.pack("<II", len(records) if count is None else count, 0) + b"".join(records)


# --- files ----------------------------------------------------------------------------------

def align_up(x, a):
    return (x + a - 1) // a * a


class Section:
    def __init__(self, kind, payload, codec=1, streamed=False):
        self.kind, self.codec = kind, codec
        self.decoded = len(payload)
        self.stored = zstd(payload, with_size=not streamed) if codec == 1 else payload


def assemble(sections, alignment=64, entry_hook=None, header_hook=None, pad=b"\0"):
    """File bytes for the sections. entry_hook(i, fields) may edit a table entry (a dict);
    header_hook(fields) may edit header fields; checksums are computed after the hooks, unless a
    hook sets 'table_checksum' or 'header_checksum' itself."""
    n = len(sections)
    offsets, cur = [], 64 + 48 * n
    for s in sections:
        cur = align_up(cur, alignment)
        offsets.append(cur)
        cur += len(s.stored)
    entries = []
    for i, s in enumerate(sections):
        e = dict(kind=s.kind, codec=s.codec, offset=offsets[i], stored=len(s.stored), decoded=s.decoded,
                 checksum=xxh64(s.stored), reserved=0)
        if entry_hook:
            entry_hook(i, e)
        entries.append(e)
    table = b"".join(struct.pack("<IIQQQQQ", e["kind"], e["codec"], e["offset"], e["stored"], e["decoded"], e["checksum"], e["reserved"]) for e in entries)
    h = dict(magic=MAGIC, major=1, minor=0, header_size=64, file_size=cur, table_offset=64, count=n,
             alignment=alignment, table_checksum=xxh64(table), reserved=0)
    if header_hook:
        header_hook(h)
    head = h["magic"] + struct.pack("<HHIQQIIQQ", h["major"], h["minor"], h["header_size"], h["file_size"], h["table_offset"],
                                    h["count"], h["alignment"], h["table_checksum"], h["reserved"])
    head += struct.pack("<Q", h.get("header_checksum", xxh64(head)))
    out = bytearray(head + table)
    for i, s in enumerate(sections):
        while len(out) < offsets[i]:
            out += pad
        out += s.stored
    return bytes(out)


def metadata(layers, output, input_shape, class_names=(), normalization=None):
    meta = {
        "architecture": {
            "name": "corpus", "input": {"shape": input_shape, "normalization": normalization or {"scale": 0.00390625, "mean": [0.0], "std": [1.0]}},
            "layers": layers, "output": output, "classNames": list(class_names),
        },
        "provenance": {"method": "corpus", "toolVersion": "make_rlf_corpus.py"},
    }
    return json.dumps(meta, sort_keys=True).encode()


def L(name, op, inputs, shape, **kw):
    d = {"name": name, "op": op, "inputs": inputs, "outputShape": shape}
    d.update(kw)
    return d


# The small MLP most broken files start from: input [1,4,4] -> flatten -> fc1 (CSR) -> relu -> fc2 (bitmask) -> softmax.
FC1 = [0.5 if (r * 16 + c) % 3 == 0 else 0.0 for r in range(5) for c in range(16)]
FC1[7] = -0.0   # a nonzero bit pattern that must survive
FC1B = [0.1, -0.2, 0.0, 0.4, 1e-40]   # includes a zero and a subnormal
FC2 = [1.5, 0.0, -2.25, 0.0, 3.0, 0.0, 0.0, 0.125, 0.0, -1.0, 0.0, 0.0, 7.0, 0.0, 0.0]
MLP_LAYERS = [
    L("flatten", "flatten", ["input"], [16]),
    L("fc1", "linear", ["flatten"], [5], weight="fc1.weight", bias="fc1.bias"),
    L("relu", "relu", ["fc1"], [5]),
    L("fc2", "linear", ["relu"], [3], weight="fc2.weight"),
    L("softmax", "softmax", ["fc2"], [3]),
]


def mlp(layers=None, output="softmax", tensors=None, meta=None, dir_bytes=None, codecs=None, streamed=(), classes=("a", "b", "c")):
    """Sections of the MLP; every part can be replaced to break one thing."""
    if tensors is None:
        tensors = [
            encode_tensor("fc1.weight", [5, 16], FC1, 1, shuffled=True, delta=True),
            encode_tensor("fc1.bias", [5], FC1B, 0),
            encode_tensor("fc2.weight", [3, 5], FC2, 2),
        ]
    meta = meta if meta is not None else metadata(layers or MLP_LAYERS, output, [1, 4, 4], classes)
    dir_bytes = dir_bytes if dir_bytes is not None else directory([t[0] for t in tensors])
    payloads = [meta, dir_bytes] + [t[1] for t in tensors]
    kinds = [1, 2] + [3] * len(tensors)
    codecs = codecs or [1] * len(payloads)
    return [Section(k, p, c, i in streamed) for i, (k, p, c) in enumerate(zip(kinds, payloads, codecs))], tensors


def good_files():
    files = {}
    secs, tensors = mlp(codecs=[1, 0, 1, 0, 1])
    files["mlp-mixed"] = (assemble(secs), tensors)
    # Every encoding with every option, on one tensor each, all raw.
    w = [0.0] * 40
    for k in (0, 3, 9, 10, 11, 30, 39):
        w[k] = float(k) - 10.5
    variants = []
    for enc in (0, 1, 2):
        for shuffled in (False, True):
            for delta in ((False, True) if enc == 1 else (False,)):
                variants.append(encode_tensor(f"w{len(variants)}", [4, 10], w, enc, shuffled=shuffled, delta=delta))
    wide = encode_tensor("wide", [2, 300], [0.0] * 299 + [1.0] + [2.0] + [0.0] * 299, 1, delta=False)
    wide_shuffled = encode_tensor("wide-shuffled", [3, 300], [0.0] * 299 + [1.0] + [2.0] + [0.0] * 298 + [3.0] + [5.0] * 300, 1,
                                  delta=True, shuffled=True, shuffled_index=True, row_width=2)
    scalar = encode_tensor("scalar", [], [3.5], 0)
    empty = encode_tensor("empty", [0, 7], [], 1)
    conv = encode_tensor("conv.weight", [2, 1, 3, 3], [0.25 * ((i * 7) % 5 - 2) for i in range(18)], 1)
    layers = [
        L("conv", "conv2d", ["input"], [2, 4, 4], weight="conv.weight", stride=[1, 1], padding=[1, 1]),
        L("relu", "relu", ["conv"], [2, 4, 4]),
        L("pool", "maxpool2d", ["relu"], [2, 2, 2], kernel=[2, 2]),
        L("short", "shortcut", ["pool"], [4, 1, 1], stride=[2, 2], outChannels=4),
        L("avg", "avgpool2d", ["pool"], [2, 1, 1], kernel=[3, 3], stride=[2, 2], padding=[1, 1]),
        L("gap", "globalavgpool2d", ["short"], [4]),
        L("flat", "flatten", ["avg"], [2]),
    ]
    all_t = variants + [wide, wide_shuffled, scalar, empty, conv]
    meta = metadata(layers, "gap", [1, 4, 4], normalization={"scale": 1.0, "mean": [0.5], "std": [0.25]})
    secs = [Section(1, meta, 0), Section(2, directory([t[0] for t in all_t]), 0)] + [Section(3, t[1], 0) for t in all_t]
    files["all-encodings"] = (assemble(secs, alignment=8), all_t)
    return files


def bad_files():
    bad = {}
    base_secs, base_tensors = mlp()
    base = assemble(base_secs)

    def with_tensor(i, t, **kw):
        ts = list(base_tensors)
        ts[i] = t
        return assemble(mlp(tensors=ts, **kw)[0])

    def with_payload(i, payload, rec=None):
        ts = list(base_tensors)
        ts[i] = (rec if rec is not None else ts[i][0], payload, ts[i][2])
        return assemble(mlp(tensors=ts)[0])

    def header(**changes):
        return assemble(base_secs, header_hook=lambda h: h.update(changes))

    def entry(index, **changes):
        return assemble(base_secs, entry_hook=lambda i, e: e.update(changes) if i == index else None)

    def layers_with(i, **changes):
        ls = [dict(l) for l in MLP_LAYERS]
        ls[i].update(changes)
        return ls

    # Header.
    bad["empty"] = (b"", "fileTooSmall")
    bad["bad-magic"] = (b"PK\x03\x04" + base[4:], "badMagic")
    bad["header-cut"] = (base[:40], "fileTooSmall")
    bad["future-version"] = (header(major=2), "unsupportedVersion")
    flipped = bytearray(base)
    flipped[20] ^= 0x01
    bad["header-checksum"] = (bytes(flipped), "headerChecksumMismatch")
    bad["header-size"] = (header(header_size=128), "badHeaderSize")
    bad["header-reserved"] = (header(reserved=1), "reservedNotZero")
    bad["table-offset"] = (header(table_offset=128), "badTableOffset")
    bad["alignment-not-power-of-two"] = (header(alignment=48), "badAlignment")
    bad["alignment-zero"] = (header(alignment=0), "badAlignment")
    bad["section-count-one"] = (header(count=1), "badSectionCount")
    bad["section-count-huge"] = (header(count=0xFFFFFFFF), "badSectionCount")
    bad["table-past-end"] = (header(count=60000), "fileTooSmall")
    bad["table-checksum"] = (header(table_checksum=0x1234), "tableChecksumMismatch")
    bad["longer-than-declared"] = (base + b"\0" * 64, "fileSizeMismatch")
    bad["trailing-bytes"] = (assemble(base_secs, header_hook=lambda h: h.update(file_size=h["file_size"] + 64)) + b"\0" * 64, "trailingBytes")
    # Truncation at every section boundary (and inside each section).
    offsets = [struct.unpack_from("<Q", base, 64 + 48 * i + 8)[0] for i in range(len(base_secs))]
    sizes = [struct.unpack_from("<Q", base, 64 + 48 * i + 16)[0] for i in range(len(base_secs))]
    bad["cut-after-header"] = (base[:64], "fileSizeMismatch")
    bad["cut-inside-table"] = (base[:64 + 48 * 2 + 5], "fileSizeMismatch")
    for i, (o, s) in enumerate(zip(offsets, sizes)):
        bad[f"cut-at-section-{i}-start"] = (base[:o], "fileSizeMismatch")
        bad[f"cut-inside-section-{i}"] = (base[:o + s // 2], "fileSizeMismatch")
        bad[f"cut-at-section-{i}-end"] = (base[:o + s], "fileSizeMismatch") if i < len(base_secs) - 1 else None
    bad = {k: v for k, v in bad.items() if v is not None}
    # Section table and layout.
    bad["kind-wrong"] = (entry(1, kind=3), "unexpectedSectionKind")
    bad["codec-unknown"] = (entry(2, codec=7), "unknownCodec")
    bad["entry-reserved"] = (entry(2, reserved=9), "reservedNotZero")
    bad["sections-overlap"] = (entry(2, offset=offsets[1]), "sectionsOverlap")
    bad["section-misaligned"] = (entry(2, offset=offsets[2] + 8), "sectionMisaligned")
    bad["section-gap"] = (entry(2, offset=offsets[2] + 64), "sectionGap")
    bad["section-out-of-bounds"] = (entry(4, stored=1 << 40), "sectionOutOfBounds")
    bad["section-size-overflows"] = (entry(4, stored=(1 << 64) - 16), "sectionOutOfBounds")
    bad["padding-not-zero"] = (assemble(base_secs, pad=b"\x01"), "nonZeroPadding")
    corrupt = bytearray(base)
    corrupt[offsets[3] + 2] ^= 0x40
    bad["section-checksum"] = (bytes(corrupt), "sectionChecksumMismatch")
    bad["metadata-too-large"] = (entry(0, decoded=1 << 30), "declaredSizeTooLarge")
    bad["tensor-too-large"] = (entry(2, decoded=5 << 30), "declaredSizeTooLarge")
    raw_secs, _ = mlp(codecs=[1, 1, 1, 0, 1])
    bad["raw-size-lies"] = (assemble(raw_secs, entry_hook=lambda i, e: e.update(decoded=e["decoded"] + 4) if i == 3 else None), "rawSizeMismatch")
    garbage = [Section(k.kind, b"", 0) for k in base_secs]
    for s, src in zip(garbage, base_secs):
        s.codec, s.stored, s.decoded = src.codec, src.stored, src.decoded
    garbage[2].stored = b"\x28\xb5\x2f\xfd" + b"\xff" * 20
    bad["zstd-garbage"] = (assemble(garbage), "decompressionFailed")
    two = [Section(k.kind, b"", 0) for k in base_secs]
    for s, src in zip(two, base_secs):
        s.codec, s.stored, s.decoded = src.codec, src.stored, src.decoded
    two[2].stored = base_secs[2].stored + base_secs[2].stored
    bad["zstd-two-frames"] = (assemble(two), "decompressionFailed")
    # Bombs: a small declared size and a frame that inflates far beyond it.
    zeros = bytes(8 << 20)
    bomb = [Section(k.kind, b"", 0) for k in base_secs]
    for s, src in zip(bomb, base_secs):
        s.codec, s.stored, s.decoded = src.codec, src.stored, src.decoded
    bomb[0].stored = zstd(zeros)
    bad["bomb-declared-content-size"] = (assemble(bomb), "decompressionBomb")
    bomb[0].stored = zstd(zeros, with_size=False)
    bad["bomb-streamed"] = (assemble(bomb), "decompressionBomb")
    short = [Section(k.kind, b"", 0) for k in base_secs]
    for s, src in zip(short, base_secs):
        s.codec, s.stored, s.decoded = src.codec, src.stored, src.decoded
    short[0].decoded += 100
    bad["decoded-size-lies"] = (assemble(short), "decompressedSizeMismatch")
    short[0].stored = zstd(metadata(MLP_LAYERS, "softmax", [1, 4, 4], ("a", "b", "c")), with_size=False)
    bad["decoded-size-lies-streamed"] = (assemble(short), "decompressedSizeMismatch")
    # Metadata.
    bad["metadata-not-json"] = (assemble(mlp(meta=b"{not json")[0]), "invalidMetadata")
    bad["metadata-missing-field"] = (assemble(mlp(meta=b'{"architecture": {}}')[0]), "invalidMetadata")
    # Directory.
    recs = [t[0] for t in base_tensors]
    bad["directory-truncated"] = (assemble(mlp(dir_bytes=directory(recs)[:-3])[0]), "directoryTruncated")
    bad["directory-trailing"] = (assemble(mlp(dir_bytes=directory(recs) + b"\0\0")[0]), "directoryTrailingBytes")
    bad["directory-count"] = (assemble(mlp(dir_bytes=directory(recs, count=2))[0]), "tensorCountMismatch")
    fc2 = base_tensors[2]
    bad["encoding-unknown"] = (with_tensor(2, (record("fc2.weight", 5, [3, 5], 6), fc2[1], None)), "unknownEncoding")
    bad["dtype-unsupported"] = (with_tensor(2, (record("fc2.weight", 2, [3, 5], 6, dtype=2), fc2[1], None)), "unsupportedDType")
    bad["rank-too-large"] = (with_tensor(2, (record("fc2.weight", 2, [1] * 9, 6), fc2[1], None)), "rankTooLarge")
    bad["flags-unknown"] = (with_tensor(2, (record("fc2.weight", 2, [3, 5], 6, flags=2), fc2[1], None)), "unknownFlags")
    bad["flags-unknown-csr"] = (with_tensor(0, (record("fc1.weight", 1, [5, 16], 27, flags=8, rw=1, cw=1), base_tensors[0][1], None)), "unknownFlags")
    bad["index-width-bad"] = (with_tensor(0, (record("fc1.weight", 1, [5, 16], 27, flags=3, rw=3, cw=1), base_tensors[0][1], None)), "badIndexWidth")
    bad["index-width-on-dense"] = (with_tensor(1, (record("fc1.bias", 0, [5], 4, cw=2), base_tensors[1][1], None)), "badIndexWidth")
    bad["name-empty"] = (with_tensor(2, (record("", 2, [3, 5], 6), fc2[1], None)), "invalidTensorName")
    bad["name-not-utf8"] = (with_tensor(2, (record("x", 2, [3, 5], 6, name_bytes=b"fc\xff\xfe"), fc2[1], None)), "invalidTensorName")
    bad["name-control-character"] = (with_tensor(2, (record("fc2\n", 2, [3, 5], 6), fc2[1], None)), "invalidTensorName")
    bad["name-duplicate"] = (with_tensor(2, (record("fc1.bias", 2, [3, 5], 6), fc2[1], None)), "duplicateTensorName")
    bad["dimension-too-large"] = (with_tensor(2, (record("fc2.weight", 2, [1 << 40, 5], 6), fc2[1], None)), "dimensionTooLarge")
    bad["elements-overflow"] = (with_tensor(2, (record("fc2.weight", 2, [0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF], 6), fc2[1], None)), "tensorTooLarge")
    bad["columns-too-many"] = (with_tensor(2, (record("fc2.weight", 2, [1, 65536, 65536], 6), fc2[1], None)), "tensorTooLarge")
    bad["nnz-exceeds-count"] = (with_tensor(2, (record("fc2.weight", 2, [3, 5], 16), fc2[1], None)), "nnzExceedsCount")
    bad["tensor-size-mismatch"] = (with_tensor(2, (record("fc2.weight", 2, [3, 5], 5), fc2[1], None)), "tensorSizeMismatch")
    # Payloads.
    dense_bits = f32bits(FC1B)
    bad["dense-nnz-lies"] = (with_payload(1, value_bytes(dense_bits, False), rec=record("fc1.bias", 0, [5], 5)), "nnzMismatch")
    csr_rec = lambda nnz, flags=0: record("fc1.weight", 1, [5, 16], nnz, flags, 1, 1)
    v = lambda n: value_bytes([0x3F800000] * n, False)
    bad["csr-row-count-too-large"] = (with_payload(0, bytes([17, 0, 0, 0, 0]) + bytes(range(17)) + v(17), csr_rec(17)), "rowCountTooLarge")
    bad["csr-row-counts-sum"] = (with_payload(0, bytes([2, 1, 0, 0, 0]) + bytes([0, 1, 2]) + v(3), csr_rec(2)), "tensorSizeMismatch")
    bad["csr-row-counts-disagree"] = (with_payload(0, bytes([2, 0, 0, 0, 0]) + bytes([0, 1, 2]) + v(3), csr_rec(3)), "nnzMismatch")
    bad["csr-column-out-of-range"] = (with_payload(0, bytes([2, 0, 0, 0, 0]) + bytes([3, 16]) + v(2), csr_rec(2)), "columnIndexOutOfRange")
    bad["csr-delta-out-of-range"] = (with_payload(0, bytes([2, 0, 0, 0, 0]) + bytes([9, 7]) + v(2), csr_rec(2, flags=2)), "columnIndexOutOfRange")
    bad["csr-unsorted"] = (with_payload(0, bytes([3, 0, 0, 0, 0]) + bytes([1, 5, 4]) + v(3), csr_rec(3)), "columnsNotIncreasing")
    bad["csr-duplicate"] = (with_payload(0, bytes([0, 2, 0, 0, 0]) + bytes([4, 4]) + v(2), csr_rec(2)), "duplicateColumnIndex")
    bad["csr-delta-zero-gap"] = (with_payload(0, bytes([0, 2, 0, 0, 0]) + bytes([4, 0]) + v(2), csr_rec(2, flags=2)), "duplicateColumnIndex")
    bad["csr-stored-zero"] = (with_payload(0, bytes([2, 0, 0, 0, 0]) + bytes([1, 2]) + value_bytes([0x3F800000, 0], False), csr_rec(2)), "storedZeroValue")
    bm = lambda mask, values, nnz: with_payload(2, bytes(mask) + values, rec=record("fc2.weight", 2, [3, 5], nnz))
    bad["bitmask-padding-bits"] = (bm([0x03, 0x80], v(3), 3), "bitmaskPaddingNotZero")
    bad["bitmask-popcount"] = (bm([0x07, 0x00], v(2), 2), "nnzMismatch")
    bad["bitmask-stored-zero"] = (bm([0x03, 0x00], value_bytes([0x3F800000, 0], False), 2), "storedZeroValue")
    # Graph.
    g = lambda layers, output="softmax", classes=("a", "b", "c"), normalization=None: assemble(
        mlp(meta=metadata(layers, output, [1, 4, 4], classes, normalization))[0])
    bad["graph-unknown-operator"] = (g(layers_with(2, op="gelu")), "unknownOperator")
    bad["graph-layer-named-input"] = (g(layers_with(2, name="input")), "invalidLayerName")
    bad["graph-duplicate-layer"] = (g(layers_with(2, name="fc1")), "duplicateLayerName")
    bad["graph-unknown-input"] = (g(layers_with(2, inputs=["fc9"])), "unknownLayerInput")
    bad["graph-forward-reference"] = (g(layers_with(1, inputs=["relu"])), "unknownLayerInput")
    bad["graph-wrong-input-count"] = (g(layers_with(2, inputs=["fc1", "fc1"])), "wrongInputCount")
    bad["graph-missing-tensor"] = (g(layers_with(3, weight="fc3.weight")), "missingTensor")
    bad["graph-tensor-shape"] = (g(layers_with(1, bias="fc2.weight")), "tensorShapeMismatch")
    bad["graph-incompatible-input"] = (g(layers_with(1, inputs=["input"])), "incompatibleInputShape")
    bad["graph-bad-attribute"] = (g(layers_with(0, op="maxpool2d", kernel=[0, 2])), "invalidLayerAttribute")
    bad["graph-shape-lies"] = (g(layers_with(2, outputShape=[6])), "layerShapeMismatch")
    bad["graph-unknown-output"] = (g(MLP_LAYERS, output="logits"), "unknownOutputLayer")
    bad["graph-bad-normalization"] = (g(MLP_LAYERS, normalization={"scale": 1.0, "mean": [0.0], "std": [0.0]}), "invalidInputSpec")
    bad["graph-class-count"] = (g(MLP_LAYERS, classes=("a", "b")), "classCountMismatch")
    return bad


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    if shutil.which("zstd") is None:
        sys.exit("error: the zstd command is needed (apt-get install zstd)")
    if "--check" in sys.argv[1:]:
        return check()
    generate(ROOT)


def check():
    """Regenerates the corpus elsewhere and fails if it differs from the committed one."""
    global ROOT
    committed = ROOT
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp)
        differ = []
        for sub in ("good", "bad"):
            a, b = os.path.join(committed, sub), os.path.join(tmp, sub)
            names = sorted(set(os.listdir(a)) | set(os.listdir(b)))
            for n in names:
                pa, pb = os.path.join(a, n), os.path.join(b, n)
                if not (os.path.exists(pa) and os.path.exists(pb) and open(pa, "rb").read() == open(pb, "rb").read()):
                    differ.append(f"{sub}/{n}")
        if differ:
            sys.exit("error: formats/corpus differs from what tools/make_rlf_corpus.py writes: " + ", ".join(differ[:10])
                     + "; run python3 tools/make_rlf_corpus.py and commit the result")
        print("corpus: formats/corpus matches tools/make_rlf_corpus.py", file=sys.stderr)


def generate(root):
    for sub in ("good", "bad"):
        d = os.path.join(root, sub)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    for name, (data, tensors) in good_files().items():
        write(os.path.join(root, "good", name + ".rlf"), data)
        with open(os.path.join(root, "good", name + ".json"), "w") as f:
            json.dump([t[2] for t in tensors], f, indent=1, sort_keys=True)
            f.write("\n")
    bad = bad_files()
    with open(os.path.join(root, "bad", "expected.tsv"), "w") as f:
        f.write("# file\tthe RLFError case the reader must raise\n")
        for name in sorted(bad):
            data, error = bad[name]
            write(os.path.join(root, "bad", name + ".rlf"), data)
            f.write(f"{name}.rlf\t{error}\n")
    print(f"wrote {len(good_files())} good and {len(bad)} bad files under {os.path.normpath(root)}", file=sys.stderr)


if __name__ == "__main__":
    main()

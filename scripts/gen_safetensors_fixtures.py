# Writes the safetensors fixtures Kiln's tests compare against, and (--verify) reads a Kiln-written file back.
"""Safetensors fixtures for test/io/safetensors.test.ts.

The `safetensors` package is not needed: the writer below follows the reference serializer
(huggingface/safetensors, `safetensors/src/tensor.rs`, `prepare` + `serialize`) byte for byte:

* tensors sorted by dtype descending in the reference `Dtype` enum order, then by name (UTF-8 bytes);
* header is compact JSON, `__metadata__` first when given, then tensors in data order;
* header padded with spaces to a multiple of 8 bytes; then the tensors' little-endian bytes back to back.

Usage:
    /usr/bin/python3 scripts/gen_safetensors_fixtures.py            # regenerate fixtures/safetensors/*
    /usr/bin/python3 scripts/gen_safetensors_fixtures.py --verify F # print F's tensors as JSON
"""

import json
import math
import os
import struct
import sys

import torch

# (name in the file, rank in the reference enum, bytes per element)
DTYPES = {
    torch.bool: ("BOOL", 0, 1),
    torch.uint8: ("U8", 1, 1),
    torch.int8: ("I8", 2, 1),
    torch.int16: ("I16", 5, 2),
    torch.float16: ("F16", 7, 2),
    torch.bfloat16: ("BF16", 8, 2),
    torch.int32: ("I32", 9, 4),
    torch.float32: ("F32", 11, 4),
    torch.float64: ("F64", 12, 8),
    torch.int64: ("I64", 13, 8),
}
BY_NAME = {name: dtype for dtype, (name, _, _) in DTYPES.items()}

# numpy's tobytes() uses host byte order and the format is little-endian.
if sys.byteorder != "little":
    raise SystemExit("this script assumes a little-endian host")

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "safetensors")


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16; the bit pattern is all that is written.
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def serialize(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-DTYPES[kv[1].dtype][1], kv[0].encode("utf-8")))
    header = {}
    if metadata is not None:
        # The reference keeps metadata in a hash map (unspecified order); sorted keeps fixtures reproducible.
        header["__metadata__"] = dict(sorted(metadata.items(), key=lambda kv: kv[0].encode("utf-8")))
    chunks = []
    offset = 0
    for name, t in items:
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype][0], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    # serde_json's compact form: no spaces, non-ASCII left as UTF-8, same escapes as json.dumps.
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def deserialize(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = BY_NAME[info["dtype"]]
        chunk = bytearray(data[begin:end])
        flat = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    return tensors, metadata


def json_values(t):
    """Flat row-major values; non-finite floats as strings because JSON has no NaN or Infinity."""
    out = []
    for v in t.detach().reshape(-1).tolist():
        if isinstance(v, float) and not math.isfinite(v):
            out.append("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
        else:
            out.append(v)
    return out


def describe(tensors, metadata):
    return {
        "metadata": metadata,
        "tensors": {
            name: {"dtype": DTYPES[t.dtype][0], "shape": list(t.shape), "values": json_values(t)}
            for name, t in tensors.items()
        },
    }


def torch_linear():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))
    return dict(model.state_dict())


def mixed_dtypes():
    return {
        "f64": torch.tensor([[1.5, -2.25, 1e300], [5e-324, -0.0, math.pi]], dtype=torch.float64),
        "i64": torch.tensor([0, 1, -1, 2**31 - 1, -(2**31)], dtype=torch.int64),
        "mask": torch.tensor([[True, False, True], [False, False, True]]),
        # 65504 is the largest half, 2**-24 the smallest subnormal; inf and nan check the special encodings.
        "f16": torch.tensor([0.5, -2.0, 65504.0, 2**-24, -0.0, math.inf, -math.inf, math.nan, 0.1], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.140625, 1e38, 0.1], dtype=torch.bfloat16),
        "i32": torch.tensor([[7, -8], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
        "i8": torch.tensor([-128, 127, 0], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }


def kiln_dtypes():
    """Only dtypes Kiln writes, with names whose order differs between UTF-8 bytes, UTF-16 and JS key order."""
    f32 = lambda *v: torch.tensor(v, dtype=torch.float32)
    return {
        "z_f64": torch.tensor([0.1, -1e-310], dtype=torch.float64),
        "a_bool": torch.tensor([[True, False], [False, True]]),
        "m_i32": torch.tensor([-1, 0, 2**31 - 1], dtype=torch.int32),
        "9": f32(9.0),
        "10": f32(10.0, 10.5),
        "\u00e9": f32(0.1),
        "\ufffd": f32(-1.0),
        "\U0001f600": f32(1.0),
        'q"\\\tx': f32(3.0),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, dtype=torch.float32),
    }


def i64_overflow():
    return {"big": torch.tensor([1, 2**40, 3], dtype=torch.int64)}


def generate():
    os.makedirs(OUT_DIR, exist_ok=True)
    files = {
        "torch_linear.safetensors": (torch_linear(), {"format": "pt"}),
        "kiln_dtypes.safetensors": (kiln_dtypes(), {"note": 'caf\u00e9 "quoted"\n'}),
        "mixed_dtypes.safetensors": (mixed_dtypes(), None),
        "i64_overflow.safetensors": (i64_overflow(), None),
    }
    expected = {}
    for fname, (tensors, metadata) in files.items():
        raw = serialize(tensors, metadata)
        # Reading back through the independent parser catches writer mistakes before they become fixtures.
        back, back_meta = deserialize(raw)
        assert back_meta == (metadata or {}) and back.keys() == tensors.keys()
        for k, t in tensors.items():
            assert back[k].dtype == t.dtype and back[k].shape == t.shape and torch.equal(back[k].nan_to_num(), t.nan_to_num()), k
        with open(os.path.join(OUT_DIR, fname), "wb") as f:
            f.write(raw)
        expected[fname] = describe(tensors, metadata or {})
    with open(os.path.join(OUT_DIR, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(files)} fixtures and expected.json to {os.path.normpath(OUT_DIR)}")


def main(argv):
    if len(argv) == 2 and argv[0] == "--verify":
        with open(argv[1], "rb") as f:
            tensors, metadata = deserialize(f.read())
        print(json.dumps(describe(tensors, metadata), sort_keys=True))
    elif not argv:
        generate()
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""PyTorch reference-fixture generator for Kiln.

Produces (all under fixtures/torch/):
  ops.json       - per-op forward outputs and input gradients
  modules.json   - nn layers and losses: outputs, input grads and parameter grads
  optim.json     - optimiser steps, LR schedulers, clip_grad_norm_/clip_grad_value_
  seed_run.json  - the seed program (Linear(2,10)->ReLU->Linear(10,1), BCEWithLogitsLoss,
                   Adam(lr=1e-3), batch 16, 10 epochs) with its data, initial weights,
                   batch orders, per-epoch mean losses and final weights

Run from the repository root with Debian's python3 (which has torch 1.13):

    /usr/bin/python3 scripts/gen_fixtures.py

Output is deterministic: every case seeds torch from a hash of its own name and
torch runs single-threaded, so regenerating gives byte-identical files.

Tensor encoding: {"shape": [...], "dtype": "float32"|"float64"|"int32"|"bool",
"data": [flat row-major list]}. float32 values are written with the shortest
decimal that round-trips through float32 (so Math.fround(parsed) is exact);
float64 values use Python's repr; int64 tensors are written with dtype "int32".
"""

import math
import os
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "fixtures", "torch")


# ----------------------------------------------------------------------------
# JSON writing
# ----------------------------------------------------------------------------

def f32_str(x):
    if not math.isfinite(x):
        raise ValueError("non-finite float32 value in fixture: %r" % x)
    packed = struct.pack("<f", x)
    for digits in range(1, 10):
        s = "%.*g" % (digits, x)
        if struct.pack("<f", float(s)) == packed:
            return s
    raise AssertionError("unreachable")


def f64_str(x):
    if not math.isfinite(x):
        raise ValueError("non-finite float in fixture: %r" % x)
    r = repr(float(x))
    return r


DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.int32: "int32",
    torch.int64: "int32",
    torch.bool: "bool",
}


def enc_tensor(t):
    t = t.detach().contiguous()
    name = DTYPE_NAMES[t.dtype]
    flat = t.reshape(-1).tolist()
    if name == "float32":
        data = [f32_str(v) for v in flat]
    elif name == "float64":
        data = [f64_str(v) for v in flat]
    elif name == "int32":
        for v in flat:
            assert -2**31 <= v < 2**31
        data = [str(int(v)) for v in flat]
    else:
        data = ["true" if v else "false" for v in flat]
    return '{"shape":[%s],"dtype":"%s","data":[%s]}' % (
        ",".join(str(s) for s in t.shape), name, ",".join(data))


def enc(o):
    import json
    if isinstance(o, torch.Tensor):
        return enc_tensor(o)
    if o is None:
        return "null"
    if isinstance(o, bool):
        return "true" if o else "false"
    if isinstance(o, int):
        return str(o)
    if isinstance(o, float):
        return f64_str(o)
    if isinstance(o, str):
        return json.dumps(o)
    if isinstance(o, (list, tuple)):
        return "[" + ",".join(enc(v) for v in o) + "]"
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + enc(v) for k, v in o.items()) + "}"
    raise TypeError("cannot encode %r" % type(o))


def write_json(name, obj):
    """Top-level list -> one element per line; top-level dict -> one key per line."""
    path = os.path.join(OUT_DIR, name)
    if isinstance(obj, list):
        text = "[\n" + ",\n".join(enc(v) for v in obj) + "\n]\n"
    else:
        import json
        parts = []
        for k, v in obj.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                inner = "[\n" + ",\n".join(enc(x) for x in v) + "\n]"
            else:
                inner = enc(v)
            parts.append(json.dumps(k) + ":" + inner)
        text = "{\n" + ",\n".join(parts) + "\n}\n"
    with open(path, "w") as f:
        f.write(text)
    # sanity: must parse as strict JSON
    import json
    json.loads(text)
    print("wrote %s (%d bytes)" % (os.path.relpath(path, ROOT), len(text)))


def seed_for(*parts):
    key = "/".join(str(p) for p in parts).encode()
    s = zlib.crc32(key) & 0x7FFFFFFF
    torch.manual_seed(s)
    return s


# ----------------------------------------------------------------------------
# Input makers (called after seeding)
# ----------------------------------------------------------------------------

F32 = torch.float32
F64 = torch.float64


def rn(shape, dtype=F32):
    return torch.randn(tuple(shape), dtype=dtype)


def uni(shape, lo, hi, dtype=F32):
    return torch.rand(tuple(shape), dtype=dtype) * (hi - lo) + lo


def away0(shape, lo=0.2, hi=2.0, dtype=F32):
    """Values with |x| in [lo, hi], random sign."""
    mag = uni(shape, lo, hi, dtype)
    sgn = torch.where(torch.rand(tuple(shape)) < 0.5, -1.0, 1.0).to(dtype)
    return mag * sgn


def idx(shape, high, low=0):
    return torch.randint(low, high, tuple(shape), dtype=torch.int64)


def distinct(shape, dtype=F32):
    """Values that are pairwise well separated (no near-ties): shuffled grid + jitter."""
    n = 1
    for s in shape:
        n *= s
    base = torch.randperm(n).to(F64) * 0.37 - n * 0.18
    base = base + torch.rand(n, dtype=F64) * 0.1
    return base.reshape(shape).to(dtype)


# ----------------------------------------------------------------------------
# ops.json
# ----------------------------------------------------------------------------

def _dim(a):
    d = a["dim"]
    return tuple(d) if isinstance(d, list) else d


def red_generic(fn):
    def f(xs, a):
        x = xs[0]
        if a.get("dim") is None:
            return fn(x)
        return fn(x, dim=_dim(a), keepdim=a["keepdim"])
    return f


def op_prod(xs, a):
    x = xs[0]
    if a.get("dim") is None:
        return torch.prod(x)
    return torch.prod(x, dim=a["dim"], keepdim=a["keepdim"])


def op_logsumexp(xs, a):
    x = xs[0]
    if a.get("dim") is None:
        return torch.logsumexp(x.reshape(-1), 0)
    return torch.logsumexp(x, dim=_dim(a), keepdim=a["keepdim"])


def op_varstd(fn):
    def f(xs, a):
        x = xs[0]
        if a.get("dim") is None:
            return fn(x, dim=None, correction=a["correction"], keepdim=False)
        return fn(x, dim=_dim(a), correction=a["correction"], keepdim=a["keepdim"])
    return f


def op_norm(xs, a):
    x = xs[0]
    if a.get("dim") is None:
        return torch.norm(x, p=a["p"])
    return torch.norm(x, p=a["p"], dim=_dim(a), keepdim=a["keepdim"])


def op_maxdim(fn):
    def f(xs, a):
        r = fn(xs[0], dim=a["dim"], keepdim=a["keepdim"])
        return [r.values, r.indices]
    return f


def op_arg(fn):
    def f(xs, a):
        if a.get("dim") is None:
            return fn(xs[0])
        return fn(xs[0], dim=a["dim"], keepdim=a["keepdim"])
    return f


def op_slice(xs, a):
    x = xs[0]
    sl = [slice(None)] * x.dim()
    sl[a["dim"]] = slice(a["start"], a["end"], a["step"])
    return x[tuple(sl)]


OPS = {
    # unary
    "neg": lambda xs, a: torch.neg(xs[0]),
    "abs": lambda xs, a: torch.abs(xs[0]),
    "exp": lambda xs, a: torch.exp(xs[0]),
    "log": lambda xs, a: torch.log(xs[0]),
    "log1p": lambda xs, a: torch.log1p(xs[0]),
    "sqrt": lambda xs, a: torch.sqrt(xs[0]),
    "rsqrt": lambda xs, a: torch.rsqrt(xs[0]),
    "sin": lambda xs, a: torch.sin(xs[0]),
    "cos": lambda xs, a: torch.cos(xs[0]),
    "tanh": lambda xs, a: torch.tanh(xs[0]),
    "sigmoid": lambda xs, a: torch.sigmoid(xs[0]),
    "relu": lambda xs, a: torch.relu(xs[0]),
    "gelu": lambda xs, a: F.gelu(xs[0], approximate=a["approximate"]),
    "silu": lambda xs, a: F.silu(xs[0]),
    "softplus": lambda xs, a: F.softplus(xs[0], beta=a["beta"], threshold=a["threshold"]),
    "leakyRelu": lambda xs, a: F.leaky_relu(xs[0], negative_slope=a["negativeSlope"]),
    "sign": lambda xs, a: torch.sign(xs[0]),
    "floor": lambda xs, a: torch.floor(xs[0]),
    "round": lambda xs, a: torch.round(xs[0]),
    "square": lambda xs, a: torch.square(xs[0]),
    "reciprocal": lambda xs, a: torch.reciprocal(xs[0]),
    "erf": lambda xs, a: torch.erf(xs[0]),
    # binary
    "add": lambda xs, a: torch.add(xs[0], xs[1]),
    "sub": lambda xs, a: torch.sub(xs[0], xs[1]),
    "mul": lambda xs, a: torch.mul(xs[0], xs[1]),
    "div": lambda xs, a: torch.div(xs[0], xs[1]),
    "pow": lambda xs, a: torch.pow(xs[0], xs[1]),
    "maximum": lambda xs, a: torch.maximum(xs[0], xs[1]),
    "minimum": lambda xs, a: torch.minimum(xs[0], xs[1]),
    "addScalar": lambda xs, a: xs[0] + a["other"],
    "mulScalar": lambda xs, a: xs[0] * a["other"],
    "powScalar": lambda xs, a: torch.pow(xs[0], a["exponent"]),
    "rsubScalar": lambda xs, a: a["other"] - xs[0],
    "eq": lambda xs, a: torch.eq(xs[0], xs[1]),
    "ne": lambda xs, a: torch.ne(xs[0], xs[1]),
    "lt": lambda xs, a: torch.lt(xs[0], xs[1]),
    "le": lambda xs, a: torch.le(xs[0], xs[1]),
    "gt": lambda xs, a: torch.gt(xs[0], xs[1]),
    "ge": lambda xs, a: torch.ge(xs[0], xs[1]),
    "clamp": lambda xs, a: torch.clamp(xs[0], min=a["min"], max=a["max"]),
    "where": lambda xs, a: torch.where(xs[0], xs[1], xs[2]),
    "maskedFill": lambda xs, a: xs[0].masked_fill(xs[1], a["value"]),
    # reductions
    "sum": red_generic(torch.sum),
    "mean": red_generic(torch.mean),
    "prod": op_prod,
    "amax": red_generic(torch.amax),
    "amin": red_generic(torch.amin),
    "logsumexp": op_logsumexp,
    "var": op_varstd(torch.var),
    "std": op_varstd(torch.std),
    "norm": op_norm,
    "maxDim": op_maxdim(torch.max),
    "minDim": op_maxdim(torch.min),
    "argmax": op_arg(torch.argmax),
    "argmin": op_arg(torch.argmin),
    "softmax": lambda xs, a: torch.softmax(xs[0], dim=a["dim"]),
    "logSoftmax": lambda xs, a: torch.log_softmax(xs[0], dim=a["dim"]),
    # movement
    "reshape": lambda xs, a: xs[0].reshape(a["shape"]),
    "transpose": lambda xs, a: xs[0].transpose(a["dim0"], a["dim1"]),
    "permute": lambda xs, a: xs[0].permute(a["dims"]),
    "squeeze": lambda xs, a: xs[0].squeeze() if a["dim"] is None else xs[0].squeeze(a["dim"]),
    "unsqueeze": lambda xs, a: xs[0].unsqueeze(a["dim"]),
    "expand": lambda xs, a: xs[0].expand(*a["shape"]),
    "flatten": lambda xs, a: torch.flatten(xs[0], a["startDim"], a["endDim"]),
    "narrow": lambda xs, a: xs[0].narrow(a["dim"], a["start"], a["length"]),
    "select": lambda xs, a: xs[0].select(a["dim"], a["index"]),
    "slice": op_slice,
    "cat": lambda xs, a: torch.cat(xs, dim=a["dim"]),
    "stack": lambda xs, a: torch.stack(xs, dim=a["dim"]),
    "split": lambda xs, a: list(torch.split(xs[0], a["splitSize"], dim=a["dim"])),
    "chunk": lambda xs, a: list(torch.chunk(xs[0], a["chunks"], dim=a["dim"])),
    "gather": lambda xs, a: torch.gather(xs[0], a["dim"], xs[1]),
    "scatterAdd": lambda xs, a: torch.scatter_add(xs[0], a["dim"], xs[1], xs[2]),
    "indexSelect": lambda xs, a: torch.index_select(xs[0], a["dim"], xs[1]),
    "tril": lambda xs, a: torch.tril(xs[0], diagonal=a["diagonal"]),
    "triu": lambda xs, a: torch.triu(xs[0], diagonal=a["diagonal"]),
    "pad": lambda xs, a: F.pad(xs[0], a["pad"], mode="constant", value=a["value"]),
    "oneHot": lambda xs, a: F.one_hot(xs[0], a["numClasses"]),
    "contiguousT": lambda xs, a: xs[0].transpose(a["dim0"], a["dim1"]).contiguous(),
    # linalg
    "matmul": lambda xs, a: torch.matmul(xs[0], xs[1]),
    "mm": lambda xs, a: torch.mm(xs[0], xs[1]),
    "bmm": lambda xs, a: torch.bmm(xs[0], xs[1]),
    "outer": lambda xs, a: torch.outer(xs[0], xs[1]),
    "t": lambda xs, a: xs[0].t(),
}


def rand_like_out(y):
    if y.dtype in (F32, F64):
        return torch.randn(y.shape, dtype=y.dtype)
    return None


def run_op_case(op, label, make_inputs, args):
    seed_for("ops", op, label)
    inputs = make_inputs()
    if isinstance(inputs, torch.Tensor):
        inputs = [inputs]
    inputs = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    y = OPS[op](inputs, args)
    float_inputs = [t for t in inputs if t.is_floating_point()]

    if isinstance(y, list) and op in ("maxDim", "minDim"):
        # gradOutput applies to values (y[0]) only
        g = rand_like_out(y[0])
        loss = (y[0] * g).sum()
        out, gout = y, g
    elif isinstance(y, list):
        g = [rand_like_out(t) for t in y]
        loss = sum((t * gi).sum() for t, gi in zip(y, g))
        out, gout = y, g
    else:
        g = rand_like_out(y)
        loss = None if g is None else (y * g).sum()
        out, gout = y, g

    grads = [None] * len(inputs)
    if loss is not None and float_inputs:
        gs = torch.autograd.grad(loss, float_inputs, allow_unused=True)
        gi = iter(gs)
        for i, t in enumerate(inputs):
            if t.is_floating_point():
                gv = next(gi)
                grads[i] = torch.zeros_like(t) if gv is None else gv
    return {"op": op, "case": label, "inputs": inputs, "args": args,
            "output": out, "gradOutput": gout, "grads": grads}


def gen_ops():
    cases = []
    seen = set()

    def add(op, label, make_inputs, args=None):
        assert (op, label) not in seen, (op, label)
        seen.add((op, label))
        cases.append(run_op_case(op, label, make_inputs, args or {}))

    # ---------------- unary ----------------
    unary_domains = {
        "neg": lambda s, d: rn(s, d),
        "abs": lambda s, d: away0(s, 0.1, 2.0, d),
        "exp": lambda s, d: uni(s, -2, 2, d),
        "log": lambda s, d: uni(s, 0.1, 3, d),
        "log1p": lambda s, d: uni(s, -0.5, 3, d),
        "sqrt": lambda s, d: uni(s, 0.1, 3, d),
        "rsqrt": lambda s, d: uni(s, 0.2, 3, d),
        "sin": lambda s, d: uni(s, -3, 3, d),
        "cos": lambda s, d: uni(s, -3, 3, d),
        "tanh": lambda s, d: uni(s, -3, 3, d),
        "sigmoid": lambda s, d: uni(s, -4, 4, d),
        "relu": lambda s, d: away0(s, 0.05, 2.0, d),
        "silu": lambda s, d: uni(s, -4, 4, d),
        "sign": lambda s, d: away0(s, 0.1, 2.0, d),
        "floor": lambda s, d: uni(s, -3, 3, d),
        "round": lambda s, d: uni(s, -3, 3, d),
        "square": lambda s, d: rn(s, d),
        "reciprocal": lambda s, d: away0(s, 0.3, 2.0, d),
        "erf": lambda s, d: uni(s, -2.5, 2.5, d),
    }
    unary_shapes = [("f32_3x4", (3, 4), F32), ("f32_13", (13,), F32),
                    ("f32_scalar", (), F32), ("f32_2x1x7", (2, 1, 7), F32),
                    ("f64_2x5", (2, 5), F64)]
    for op, dom in unary_domains.items():
        for label, shape, dt in unary_shapes:
            add(op, label, lambda dom=dom, shape=shape, dt=dt: dom(shape, dt))
    for label, shape, dt in unary_shapes:
        for approx in ("none", "tanh"):
            add("gelu", label + "_" + approx, lambda shape=shape, dt=dt: uni(shape, -4, 4, dt),
                {"approximate": approx})
    for label, shape, dt in unary_shapes:
        add("softplus", label + "_default", lambda shape=shape, dt=dt: uni(shape, -4, 4, dt),
            {"beta": 1.0, "threshold": 20.0})
    add("softplus", "f32_3x4_beta2_thr1", lambda: uni((3, 4), -2, 2), {"beta": 2.0, "threshold": 1.0})
    add("softplus", "f64_13_beta0.5_thr2", lambda: uni((13,), -8, 8, F64), {"beta": 0.5, "threshold": 2.0})
    for label, shape, dt in unary_shapes:
        add("leakyRelu", label + "_0.01", lambda shape=shape, dt=dt: away0(shape, 0.05, 2, dt),
            {"negativeSlope": 0.01})
    add("leakyRelu", "f32_7_0.2", lambda: away0((7,), 0.05, 2), {"negativeSlope": 0.2})

    # ---------------- binary ----------------
    bin_shapes = [("same_3x4", (3, 4), (3, 4), F32),
                  ("bcast_3x4_4", (3, 4), (4,), F32),
                  ("bcast_2x1x3_4x1", (2, 1, 3), (4, 1), F32),
                  ("scalar_lhs", (), (2, 3), F32),
                  ("scalar_rhs", (5,), (), F32),
                  ("scalar_both", (), (), F32),
                  ("bcast_1x7_13x1", (1, 7), (13, 1), F32),
                  ("f64_2x5", (2, 5), (2, 5), F64),
                  ("f64_bcast_2x1x3_4x1", (2, 1, 3), (4, 1), F64)]
    for label, sa, sb, dt in bin_shapes:
        add("add", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), rn(sb, dt)])
        add("sub", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), rn(sb, dt)])
        add("mul", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), rn(sb, dt)])
        add("div", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), away0(sb, 0.3, 2, dt)])
        add("pow", label, lambda sa=sa, sb=sb, dt=dt: [uni(sa, 0.3, 2, dt), uni(sb, -2, 2, dt)])
        add("maximum", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), rn(sb, dt)])
        add("minimum", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), rn(sb, dt)])

    def tie_pair(dt=F32):
        a = torch.tensor([[1.0, 2.0, -1.0, 0.5], [3.0, -2.0, 0.25, 4.0], [0.0, 1.5, -0.5, 2.0]], dtype=dt)
        b = torch.tensor([[1.0, 1.0, -1.0, 0.75], [2.0, -2.0, 0.5, 4.0], [0.0, 2.5, -0.75, 1.0]], dtype=dt)
        return [a, b]
    add("maximum", "ties_3x4", tie_pair)
    add("minimum", "ties_3x4", tie_pair)

    for label, shape, dt in [("f32_3x4", (3, 4), F32), ("f32_scalar", (), F32), ("f64_7", (7,), F64)]:
        add("addScalar", label, lambda shape=shape, dt=dt: rn(shape, dt), {"other": 2.5})
        add("mulScalar", label, lambda shape=shape, dt=dt: rn(shape, dt), {"other": -1.5})
        add("powScalar", label, lambda shape=shape, dt=dt: rn(shape, dt), {"exponent": 3})
        add("rsubScalar", label, lambda shape=shape, dt=dt: rn(shape, dt), {"other": 2.5})
    add("powScalar", "f32_5_exp2", lambda: rn((5,)), {"exponent": 2})
    add("powScalar", "f32_3x4_pos_exp0.5", lambda: uni((3, 4), 0.2, 3), {"exponent": 0.5})
    add("powScalar", "f32_13_pos_exp-1.5", lambda: uni((13,), 0.3, 3), {"exponent": -1.5})

    def cmp_inputs(sa, sb, dt=F32):
        return lambda: [torch.randint(-2, 3, sa).to(dt), torch.randint(-2, 3, sb).to(dt)]
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        add(op, "same_3x4", cmp_inputs((3, 4), (3, 4)))
        add(op, "bcast_3x4_4", cmp_inputs((3, 4), (4,)))
        add(op, "bcast_2x1x3_4x1", cmp_inputs((2, 1, 3), (4, 1)))
        add(op, "scalar_rhs", cmp_inputs((7,), ()))
        add(op, "f64_2x5", cmp_inputs((2, 5), (2, 5), F64))

    # clamp: keep values away from the bounds
    def clamp_in(shape, dt=F32):
        def f():
            x = uni(shape, -2, 2, dt)
            for bnd in (-0.5, 0.8):
                x = torch.where((x - bnd).abs() < 0.05, x + 0.1, x)
            return x
        return f
    add("clamp", "f32_3x4_minmax", clamp_in((3, 4)), {"min": -0.5, "max": 0.8})
    add("clamp", "f32_13_min", clamp_in((13,)), {"min": -0.5, "max": None})
    add("clamp", "f32_2x1x7_max", clamp_in((2, 1, 7)), {"min": None, "max": 0.8})
    add("clamp", "f32_scalar_minmax", clamp_in(()), {"min": -0.5, "max": 0.8})
    add("clamp", "f64_2x5_minmax", clamp_in((2, 5), F64), {"min": -0.5, "max": 0.8})

    add("where", "same_3x4", lambda: [torch.rand(3, 4) < 0.5, rn((3, 4)), rn((3, 4))])
    add("where", "bcast_cond_4_a_3x4_b_scalar", lambda: [torch.rand(4) < 0.5, rn((3, 4)), rn(())])
    add("where", "bcast_2x1x3_4x1", lambda: [torch.rand(2, 1, 1) < 0.5, rn((2, 1, 3)), rn((4, 1))])
    add("where", "f64_7", lambda: [torch.rand(7) < 0.5, rn((7,), F64), rn((7,), F64)])

    add("maskedFill", "same_3x4", lambda: [rn((3, 4)), torch.rand(3, 4) < 0.5], {"value": -1.5})
    add("maskedFill", "bcast_mask_4", lambda: [rn((3, 4)), torch.rand(4) < 0.5], {"value": 0.0})
    add("maskedFill", "bcast_mask_2x1x7", lambda: [rn((2, 3, 7)), torch.rand(2, 1, 7) < 0.5], {"value": 3.25})
    add("maskedFill", "f64_13", lambda: [rn((13,), F64), torch.rand(13) < 0.5], {"value": -2.0})

    # ---------------- reductions ----------------
    red_cfgs = [
        ("3x4_all", (3, 4), {"dim": None, "keepdim": False}),
        ("3x4_d0", (3, 4), {"dim": 0, "keepdim": False}),
        ("3x4_d1_keep", (3, 4), {"dim": 1, "keepdim": True}),
        ("3x4_dneg1", (3, 4), {"dim": -1, "keepdim": False}),
        ("2x3x5_d02", (2, 3, 5), {"dim": [0, 2], "keepdim": False}),
        ("2x3x5_d02_keep", (2, 3, 5), {"dim": [0, 2], "keepdim": True}),
        ("2x3x5_d1", (2, 3, 5), {"dim": 1, "keepdim": False}),
        ("13_d0", (13,), {"dim": 0, "keepdim": False}),
        ("7_all", (7,), {"dim": None, "keepdim": False}),
    ]
    for op in ("sum", "mean", "amax", "amin", "logsumexp", "norm"):
        for label, shape, a in red_cfgs:
            a = dict(a)
            if op == "norm":
                a["p"] = 2
            maker = (lambda shape=shape: distinct(shape)) if op in ("amax", "amin") else (lambda shape=shape: rn(shape))
            add(op, "f32_" + label, maker, a)
        a = {"dim": 1, "keepdim": False}
        if op == "norm":
            a["p"] = 2
        maker = (lambda: distinct((2, 5), F64)) if op in ("amax", "amin") else (lambda: rn((2, 5), F64))
        add(op, "f64_2x5_d1", maker, a)
    add("sum", "f32_scalar_all", lambda: rn(()), {"dim": None, "keepdim": False})
    add("mean", "f32_scalar_all", lambda: rn(()), {"dim": None, "keepdim": False})

    # prod: single int dim or all; values away from zero
    for label, shape, a in red_cfgs:
        if isinstance(a["dim"], list):
            continue
        add("prod", "f32_" + label, lambda shape=shape: away0(shape, 0.5, 1.5), dict(a))
    add("prod", "f64_2x5_d1", lambda: away0((2, 5), 0.5, 1.5, F64), {"dim": 1, "keepdim": False})

    # amax / amin ties: PyTorch splits the gradient evenly among tied maxima
    def tie_red():
        return torch.tensor([[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 2.0, 0.5], [-1.0, 0.0, 4.0, 4.0]])
    for op in ("amax", "amin"):
        add(op, "ties_3x4_d1", tie_red, {"dim": 1, "keepdim": False})
        add(op, "ties_3x4_all", tie_red, {"dim": None, "keepdim": False})
        add(op, "ties_3x4_d0_keep", tie_red, {"dim": 0, "keepdim": True})

    for op in ("var", "std"):
        for label, shape, a in red_cfgs:
            for c in (0, 1):
                b = dict(a)
                b["correction"] = c
                add(op, "f32_%s_c%d" % (label, c), lambda shape=shape: rn(shape), b)
        add(op, "f64_2x5_d1_c1", lambda: rn((2, 5), F64), {"dim": 1, "keepdim": False, "correction": 1})

    for op in ("maxDim", "minDim"):
        add(op, "f32_3x4_d1", lambda: distinct((3, 4)), {"dim": 1, "keepdim": False})
        add(op, "f32_3x4_d0_keep", lambda: distinct((3, 4)), {"dim": 0, "keepdim": True})
        add(op, "f32_2x3x5_dneg1", lambda: distinct((2, 3, 5)), {"dim": -1, "keepdim": False})
        add(op, "f32_13_d0", lambda: distinct((13,)), {"dim": 0, "keepdim": False})
        add(op, "f64_2x5_d1", lambda: distinct((2, 5), F64), {"dim": 1, "keepdim": False})
    for op in ("argmax", "argmin"):
        add(op, "f32_3x4_d1", lambda: distinct((3, 4)), {"dim": 1, "keepdim": False})
        add(op, "f32_3x4_d0_keep", lambda: distinct((3, 4)), {"dim": 0, "keepdim": True})
        add(op, "f32_2x3x5_dneg1", lambda: distinct((2, 3, 5)), {"dim": -1, "keepdim": False})
        add(op, "f32_2x3x5_all", lambda: distinct((2, 3, 5)), {"dim": None, "keepdim": False})
        add(op, "f32_13_d0", lambda: distinct((13,)), {"dim": 0, "keepdim": False})

    for op in ("softmax", "logSoftmax"):
        add(op, "f32_3x4_d1", lambda: rn((3, 4)) * 2, {"dim": 1})
        add(op, "f32_3x4_d0", lambda: rn((3, 4)) * 2, {"dim": 0})
        add(op, "f32_2x3x5_dneg1", lambda: rn((2, 3, 5)) * 2, {"dim": -1})
        add(op, "f32_2x3x5_d1", lambda: rn((2, 3, 5)) * 2, {"dim": 1})
        add(op, "f32_13_d0", lambda: rn((13,)) * 2, {"dim": 0})
        add(op, "f64_2x7_d1", lambda: rn((2, 7), F64) * 2, {"dim": 1})

    # ---------------- movement ----------------
    add("reshape", "3x4_to_2x6", lambda: rn((3, 4)), {"shape": [2, 6]})
    add("reshape", "3x4_to_neg1", lambda: rn((3, 4)), {"shape": [-1]})
    add("reshape", "2x3x5_to_5_neg1", lambda: rn((2, 3, 5)), {"shape": [5, -1]})
    add("reshape", "scalar_to_1x1", lambda: rn(()), {"shape": [1, 1]})
    add("reshape", "1_to_scalar", lambda: rn((1,)), {"shape": []})
    add("transpose", "3x4_01", lambda: rn((3, 4)), {"dim0": 0, "dim1": 1})
    add("transpose", "2x3x5_02", lambda: rn((2, 3, 5)), {"dim0": 0, "dim1": 2})
    add("transpose", "2x3x5_neg1_1", lambda: rn((2, 3, 5)), {"dim0": -1, "dim1": 1})
    add("permute", "2x3x5_201", lambda: rn((2, 3, 5)), {"dims": [2, 0, 1]})
    add("permute", "2x3x4x5_3120", lambda: rn((2, 3, 4, 5)), {"dims": [3, 1, 2, 0]})
    add("permute", "3x4_10", lambda: rn((3, 4)), {"dims": [1, 0]})
    add("squeeze", "3x1x4_d1", lambda: rn((3, 1, 4)), {"dim": 1})
    add("squeeze", "3x1x4_d0_noop", lambda: rn((3, 1, 4)), {"dim": 0})
    add("squeeze", "1x3x1x4_all", lambda: rn((1, 3, 1, 4)), {"dim": None})
    add("squeeze", "3x1_dneg1", lambda: rn((3, 1)), {"dim": -1})
    add("unsqueeze", "3x4_d0", lambda: rn((3, 4)), {"dim": 0})
    add("unsqueeze", "3x4_d1", lambda: rn((3, 4)), {"dim": 1})
    add("unsqueeze", "3x4_dneg1", lambda: rn((3, 4)), {"dim": -1})
    add("unsqueeze", "scalar_d0", lambda: rn(()), {"dim": 0})
    add("expand", "3x1_to_3x4", lambda: rn((3, 1)), {"shape": [3, 4]})
    add("expand", "4_to_2x3x4", lambda: rn((4,)), {"shape": [2, 3, 4]})
    add("expand", "3x1_to_neg1x5", lambda: rn((3, 1)), {"shape": [-1, 5]})
    add("expand", "scalar_to_2x3", lambda: rn(()), {"shape": [2, 3]})
    add("expand", "f64_1x3x1_to_2x3x4", lambda: rn((1, 3, 1), F64), {"shape": [2, 3, 4]})
    add("flatten", "2x3x5_all", lambda: rn((2, 3, 5)), {"startDim": 0, "endDim": -1})
    add("flatten", "2x3x4x5_1_2", lambda: rn((2, 3, 4, 5)), {"startDim": 1, "endDim": 2})
    add("flatten", "2x3x5_1_neg1", lambda: rn((2, 3, 5)), {"startDim": 1, "endDim": -1})
    add("narrow", "7x3_d0", lambda: rn((7, 3)), {"dim": 0, "start": 2, "length": 3})
    add("narrow", "3x7_d1", lambda: rn((3, 7)), {"dim": 1, "start": 4, "length": 3})
    add("narrow", "2x3x5_dneg1", lambda: rn((2, 3, 5)), {"dim": -1, "start": 1, "length": 2})
    add("select", "3x4_d0", lambda: rn((3, 4)), {"dim": 0, "index": 1})
    add("select", "3x4_d1_negidx", lambda: rn((3, 4)), {"dim": 1, "index": -1})
    add("select", "2x3x5_d1", lambda: rn((2, 3, 5)), {"dim": 1, "index": 2})
    add("select", "13_d0", lambda: rn((13,)), {"dim": 0, "index": 5})
    add("slice", "3x7_d1_step2", lambda: rn((3, 7)), {"dim": 1, "start": 1, "end": 6, "step": 2})
    add("slice", "7x3_d0", lambda: rn((7, 3)), {"dim": 0, "start": 0, "end": 3, "step": 1})
    add("slice", "13_negstart_toend", lambda: rn((13,)), {"dim": 0, "start": -4, "end": None, "step": 1})
    add("slice", "2x3x5_dneg1_step3", lambda: rn((2, 3, 5)), {"dim": -1, "start": 0, "end": 5, "step": 3})
    add("slice", "13_endpast", lambda: rn((13,)), {"dim": 0, "start": 10, "end": 20, "step": 1})
    add("cat", "d0", lambda: [rn((2, 3)), rn((4, 3))], {"dim": 0})
    add("cat", "d1_three", lambda: [rn((2, 3)), rn((2, 1)), rn((2, 2))], {"dim": 1})
    add("cat", "dneg1_3d", lambda: [rn((2, 3, 1)), rn((2, 3, 4))], {"dim": -1})
    add("cat", "1d", lambda: [rn((5,)), rn((7,))], {"dim": 0})
    add("cat", "f64_d0", lambda: [rn((1, 3), F64), rn((2, 3), F64)], {"dim": 0})
    add("stack", "d0", lambda: [rn((2, 3)), rn((2, 3)), rn((2, 3))], {"dim": 0})
    add("stack", "d1", lambda: [rn((2, 3)), rn((2, 3))], {"dim": 1})
    add("stack", "dneg1", lambda: [rn((2, 3)), rn((2, 3))], {"dim": -1})
    add("stack", "scalars", lambda: [rn(()), rn(()), rn(())], {"dim": 0})
    add("split", "7x3_s3_d0", lambda: rn((7, 3)), {"splitSize": 3, "dim": 0})
    add("split", "3x8_s4_d1", lambda: rn((3, 8)), {"splitSize": 4, "dim": 1})
    add("split", "2x3x5_s2_dneg1", lambda: rn((2, 3, 5)), {"splitSize": 2, "dim": -1})
    add("chunk", "7x3_c3_d0", lambda: rn((7, 3)), {"chunks": 3, "dim": 0})
    add("chunk", "6x4_c2_d1", lambda: rn((6, 4)), {"chunks": 2, "dim": 1})
    add("chunk", "13_c4_d0", lambda: rn((13,)), {"chunks": 4, "dim": 0})
    add("gather", "3x4_d1", lambda: [rn((3, 4)), idx((3, 2), 4)], {"dim": 1})
    add("gather", "3x4_d0", lambda: [rn((3, 4)), idx((2, 4), 3)], {"dim": 0})
    add("gather", "2x3x5_dneg1_dup", lambda: [rn((2, 3, 5)), idx((2, 3, 7), 5)], {"dim": -1})
    add("gather", "4x5_d1_smaller", lambda: [rn((4, 5)), idx((2, 3), 5)], {"dim": 1})
    add("scatterAdd", "3x4_d1", lambda: [rn((3, 4)), idx((3, 5), 4), rn((3, 5))], {"dim": 1})
    add("scatterAdd", "4x3_d0", lambda: [rn((4, 3)), idx((6, 3), 4), rn((6, 3))], {"dim": 0})
    add("scatterAdd", "5_d0", lambda: [rn((5,)), idx((7,), 5), rn((7,))], {"dim": 0})
    add("indexSelect", "5x3_d0_dup", lambda: [rn((5, 3)), torch.tensor([4, 0, 2, 0])], {"dim": 0})
    add("indexSelect", "3x7_d1", lambda: [rn((3, 7)), torch.tensor([6, 1, 1, 3, 0])], {"dim": 1})
    add("indexSelect", "2x3x5_dneg1", lambda: [rn((2, 3, 5)), torch.tensor([2, 2])], {"dim": -1})
    add("indexSelect", "13_d0", lambda: [rn((13,)), idx((6,), 13)], {"dim": 0})
    for op in ("tril", "triu"):
        add(op, "4x4_k0", lambda: rn((4, 4)), {"diagonal": 0})
        add(op, "3x5_k1", lambda: rn((3, 5)), {"diagonal": 1})
        add(op, "5x3_kneg1", lambda: rn((5, 3)), {"diagonal": -1})
        add(op, "2x3x4_batched_k0", lambda: rn((2, 3, 4)), {"diagonal": 0})
    add("pad", "3x4_last_1_2", lambda: rn((3, 4)), {"pad": [1, 2], "value": 0.0})
    add("pad", "2x3x4_last2_1_1_2_0", lambda: rn((2, 3, 4)), {"pad": [1, 1, 2, 0], "value": -1.5})
    add("pad", "5_0_3", lambda: rn((5,)), {"pad": [0, 3], "value": 2.0})
    add("pad", "2x3x4_all3", lambda: rn((2, 3, 4)), {"pad": [0, 1, 1, 0, 2, 1], "value": 0.5})
    add("oneHot", "7_n5", lambda: idx((7,), 5), {"numClasses": 5})
    add("oneHot", "2x3_n4", lambda: idx((2, 3), 4), {"numClasses": 4})
    add("contiguousT", "3x4", lambda: rn((3, 4)), {"dim0": 0, "dim1": 1})
    add("contiguousT", "2x3x5_02", lambda: rn((2, 3, 5)), {"dim0": 0, "dim1": 2})

    # ---------------- linalg ----------------
    mm_cases = [("2d_2d", (3, 4), (4, 5), F32), ("1d_2d", (4,), (4, 5), F32),
                ("2d_1d", (3, 4), (4,), F32), ("1d_1d", (7,), (7,), F32),
                ("3d_3d", (2, 3, 4), (2, 4, 5), F32), ("bcast_2x1x3x4_5x4x2", (2, 1, 3, 4), (5, 4, 2), F32),
                ("3d_2d", (2, 3, 4), (4, 5), F32), ("2d_3d", (3, 4), (2, 4, 5), F32),
                ("1d_3d", (4,), (2, 4, 3), F32), ("3d_1d", (2, 3, 4), (4,), F32),
                ("odd_5x13_13x7", (5, 13), (13, 7), F32), ("f64_2d_2d", (3, 4), (4, 5), F64)]
    for label, sa, sb, dt in mm_cases:
        add("matmul", label, lambda sa=sa, sb=sb, dt=dt: [rn(sa, dt), rn(sb, dt)])
    add("mm", "3x4_4x5", lambda: [rn((3, 4)), rn((4, 5))])
    add("mm", "5x13_13x7", lambda: [rn((5, 13)), rn((13, 7))])
    add("mm", "f64_2x3_3x2", lambda: [rn((2, 3), F64), rn((3, 2), F64)])
    add("bmm", "2x3x4_2x4x5", lambda: [rn((2, 3, 4)), rn((2, 4, 5))])
    add("bmm", "3x1x7_3x7x2", lambda: [rn((3, 1, 7)), rn((3, 7, 2))])
    add("outer", "3_4", lambda: [rn((3,)), rn((4,))])
    add("outer", "f64_5_2", lambda: [rn((5,), F64), rn((2,), F64)])
    add("t", "3x4", lambda: rn((3, 4)))
    add("t", "1x7", lambda: rn((1, 7)))
    return cases


# ----------------------------------------------------------------------------
# modules.json
# ----------------------------------------------------------------------------

def run_module_case(name, label, args, build, make_inputs, n_grad_inputs=1):
    """make_inputs() returns a list; the first n_grad_inputs float tensors get requires_grad."""
    seed_for("modules", name, label)
    mod = build()
    inputs = make_inputs()
    inputs = [t.clone() for t in inputs]
    for i in range(n_grad_inputs):
        inputs[i].requires_grad_(True)
    state = {k: v.detach().clone() for k, v in mod.state_dict().items()}
    y = mod(*inputs)
    g = torch.randn(y.shape, dtype=y.dtype)
    (y * g).sum().backward()
    grads = [t.grad if t.requires_grad else None for t in inputs]
    pgrads = {k: p.grad for k, p in mod.named_parameters()}
    return {"module": name, "case": label, "args": args, "stateDict": state,
            "inputs": inputs, "output": y, "gradOutput": g, "grads": grads,
            "paramGrads": pgrads}


def gen_modules():
    cases = []
    seen = set()

    def add(name, label, args, build, make_inputs, n_grad_inputs=1):
        assert (name, label) not in seen
        seen.add((name, label))
        cases.append(run_module_case(name, label, args, build, make_inputs, n_grad_inputs))

    # ---- layers ----
    add("Linear", "bias_5x4", {"inFeatures": 4, "outFeatures": 3, "bias": True},
        lambda: nn.Linear(4, 3), lambda: [rn((5, 4))])
    add("Linear", "nobias_5x4", {"inFeatures": 4, "outFeatures": 3, "bias": False},
        lambda: nn.Linear(4, 3, bias=False), lambda: [rn((5, 4))])
    add("Linear", "bias_batched_2x3x7", {"inFeatures": 7, "outFeatures": 5, "bias": True},
        lambda: nn.Linear(7, 5), lambda: [rn((2, 3, 7))])
    add("Linear", "bias_1d_input", {"inFeatures": 4, "outFeatures": 2, "bias": True},
        lambda: nn.Linear(4, 2), lambda: [rn((4,))])
    seq_args = {"layers": [
        {"module": "Linear", "args": {"inFeatures": 4, "outFeatures": 8, "bias": True}},
        {"module": "ReLU", "args": {}},
        {"module": "Linear", "args": {"inFeatures": 8, "outFeatures": 3, "bias": True}}]}
    add("Sequential", "linear_relu_linear", seq_args,
        lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), lambda: [rn((6, 4))])
    act_in = lambda: [away0((3, 5), 0.05, 3.0)]
    add("ReLU", "3x5", {}, lambda: nn.ReLU(), act_in)
    add("LeakyReLU", "3x5_default", {"negativeSlope": 0.01}, lambda: nn.LeakyReLU(0.01), act_in)
    add("LeakyReLU", "3x5_0.2", {"negativeSlope": 0.2}, lambda: nn.LeakyReLU(0.2), act_in)
    add("Sigmoid", "3x5", {}, lambda: nn.Sigmoid(), act_in)
    add("Tanh", "3x5", {}, lambda: nn.Tanh(), act_in)
    add("GELU", "3x5_none", {"approximate": "none"}, lambda: nn.GELU(), act_in)
    add("GELU", "3x5_tanh", {"approximate": "tanh"}, lambda: nn.GELU(approximate="tanh"), act_in)
    add("SiLU", "3x5", {}, lambda: nn.SiLU(), act_in)
    add("Softmax", "3x5_d1", {"dim": 1}, lambda: nn.Softmax(dim=1), act_in)
    add("Softmax", "2x3x4_d0", {"dim": 0}, lambda: nn.Softmax(dim=0), lambda: [rn((2, 3, 4))])
    add("Softmax", "2x3x4_dneg1", {"dim": -1}, lambda: nn.Softmax(dim=-1), lambda: [rn((2, 3, 4))])
    add("Flatten", "2x3x4_default", {"startDim": 1, "endDim": -1}, lambda: nn.Flatten(), lambda: [rn((2, 3, 4))])
    add("Flatten", "2x3x4x5_1_2", {"startDim": 1, "endDim": 2}, lambda: nn.Flatten(1, 2), lambda: [rn((2, 3, 4, 5))])
    add("Identity", "3x5", {}, lambda: nn.Identity(), act_in)

    # ---- losses ----
    # Targets are extra inputs without grads; grads entries are null for them.
    # Tensor-valued constructor args (weight, posWeight) are given inside "args".
    RED = ("mean", "sum", "none")

    def bce_logit_inputs(shape):
        return lambda: [rn(shape) * 2, torch.rand(tuple(shape))]  # soft targets in [0,1)

    def bce_logit_hard(shape):
        return lambda: [rn(shape) * 2, (torch.rand(tuple(shape)) < 0.5).float()]

    for r in RED:
        add("BCEWithLogitsLoss", "4x3_soft_" + r, {"reduction": r},
            lambda r=r: nn.BCEWithLogitsLoss(reduction=r), bce_logit_inputs((4, 3)))
        add("BCEWithLogitsLoss", "16x1_hard_" + r, {"reduction": r},
            lambda r=r: nn.BCEWithLogitsLoss(reduction=r), bce_logit_hard((16, 1)))
        pw = torch.tensor([0.5, 2.0, 3.0])
        add("BCEWithLogitsLoss", "4x3_posWeight_" + r, {"reduction": r, "posWeight": pw},
            lambda r=r, pw=pw: nn.BCEWithLogitsLoss(reduction=r, pos_weight=pw), bce_logit_hard((4, 3)))
        w = torch.tensor([1.5, 0.25, 1.0])
        add("BCEWithLogitsLoss", "4x3_weight_" + r, {"reduction": r, "weight": w},
            lambda r=r, w=w: nn.BCEWithLogitsLoss(reduction=r, weight=w), bce_logit_inputs((4, 3)))
    add("BCEWithLogitsLoss", "4x3_weight_posWeight_mean",
        {"reduction": "mean", "weight": torch.tensor([1.5, 0.25, 1.0]), "posWeight": torch.tensor([0.5, 2.0, 3.0])},
        lambda: nn.BCEWithLogitsLoss(weight=torch.tensor([1.5, 0.25, 1.0]), pos_weight=torch.tensor([0.5, 2.0, 3.0])),
        bce_logit_hard((4, 3)))
    add("BCEWithLogitsLoss", "7_scalar_shape_mean", {"reduction": "mean"},
        lambda: nn.BCEWithLogitsLoss(), bce_logit_hard((7,)))

    def bce_inputs(shape):
        return lambda: [uni(shape, 0.05, 0.95), torch.rand(tuple(shape))]
    for r in RED:
        add("BCELoss", "4x3_" + r, {"reduction": r}, lambda r=r: nn.BCELoss(reduction=r), bce_inputs((4, 3)))
    add("BCELoss", "4x3_weight_mean", {"reduction": "mean", "weight": torch.tensor([1.5, 0.25, 1.0])},
        lambda: nn.BCELoss(weight=torch.tensor([1.5, 0.25, 1.0])),
        lambda: [uni((4, 3), 0.05, 0.95), (torch.rand(4, 3) < 0.5).float()])

    N, C = 5, 4
    ce_in = lambda: [rn((N, C)) * 1.5, idx((N,), C)]
    ce_w = torch.tensor([1.0, 2.0, 0.5, 1.5])
    for r in RED:
        add("CrossEntropyLoss", "indices_" + r, {"reduction": r},
            lambda r=r: nn.CrossEntropyLoss(reduction=r), ce_in)
        add("CrossEntropyLoss", "probs_" + r, {"reduction": r},
            lambda r=r: nn.CrossEntropyLoss(reduction=r),
            lambda: [rn((N, C)) * 1.5, torch.softmax(rn((N, C)), 1)])
        add("CrossEntropyLoss", "ignoreIndex_" + r, {"reduction": r, "ignoreIndex": 2},
            lambda r=r: nn.CrossEntropyLoss(reduction=r, ignore_index=2),
            lambda: [rn((N, C)) * 1.5, torch.tensor([2, 0, 2, 3, 1])])
        add("CrossEntropyLoss", "labelSmoothing_" + r, {"reduction": r, "labelSmoothing": 0.1},
            lambda r=r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1), ce_in)
        add("CrossEntropyLoss", "weight_" + r, {"reduction": r, "weight": ce_w},
            lambda r=r: nn.CrossEntropyLoss(reduction=r, weight=ce_w), ce_in)
        add("CrossEntropyLoss", "NCd_" + r, {"reduction": r},
            lambda r=r: nn.CrossEntropyLoss(reduction=r),
            lambda: [rn((2, C, 3)) * 1.5, idx((2, 3), C)])
    add("CrossEntropyLoss", "ignoreIndex_default_neg100_mean", {"reduction": "mean"},
        lambda: nn.CrossEntropyLoss(), lambda: [rn((N, C)), torch.tensor([1, -100, 0, 3, -100])])
    add("CrossEntropyLoss", "weight_ignoreIndex_mean", {"reduction": "mean", "weight": ce_w, "ignoreIndex": 0},
        lambda: nn.CrossEntropyLoss(weight=ce_w, ignore_index=0),
        lambda: [rn((N, C)), torch.tensor([0, 1, 2, 0, 3])])
    add("CrossEntropyLoss", "probs_labelSmoothing_mean", {"reduction": "mean", "labelSmoothing": 0.2},
        lambda: nn.CrossEntropyLoss(label_smoothing=0.2),
        lambda: [rn((N, C)), torch.softmax(rn((N, C)), 1)])
    add("CrossEntropyLoss", "weight_labelSmoothing_mean", {"reduction": "mean", "weight": ce_w, "labelSmoothing": 0.1},
        lambda: nn.CrossEntropyLoss(weight=ce_w, label_smoothing=0.1), ce_in)
    add("CrossEntropyLoss", "NCd_weight_ignoreIndex_mean", {"reduction": "mean", "weight": ce_w, "ignoreIndex": 1},
        lambda: nn.CrossEntropyLoss(weight=ce_w, ignore_index=1),
        lambda: [rn((2, C, 3)), torch.tensor([[1, 0, 3], [2, 1, 1]])])
    add("CrossEntropyLoss", "NCd_labelSmoothing_mean", {"reduction": "mean", "labelSmoothing": 0.1},
        lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
        lambda: [rn((2, C, 3)), idx((2, 3), C)])

    nll_in = lambda: [torch.log_softmax(rn((N, C)), 1), idx((N,), C)]
    for r in RED:
        add("NLLLoss", "basic_" + r, {"reduction": r}, lambda r=r: nn.NLLLoss(reduction=r), nll_in)
        add("NLLLoss", "weight_" + r, {"reduction": r, "weight": ce_w},
            lambda r=r: nn.NLLLoss(reduction=r, weight=ce_w), nll_in)
        add("NLLLoss", "ignoreIndex_" + r, {"reduction": r, "ignoreIndex": 3},
            lambda r=r: nn.NLLLoss(reduction=r, ignore_index=3),
            lambda: [torch.log_softmax(rn((N, C)), 1), torch.tensor([3, 0, 1, 3, 2])])
    add("NLLLoss", "NCd_mean", {"reduction": "mean"}, lambda: nn.NLLLoss(),
        lambda: [torch.log_softmax(rn((2, C, 3)), 1), idx((2, 3), C)])
    add("NLLLoss", "weight_ignoreIndex_mean", {"reduction": "mean", "weight": ce_w, "ignoreIndex": 0},
        lambda: nn.NLLLoss(weight=ce_w, ignore_index=0),
        lambda: [torch.log_softmax(rn((N, C)), 1), torch.tensor([0, 1, 2, 0, 3])])

    def reg_in(shape, min_gap=0.0):
        def f():
            a = rn(shape)
            b = rn(shape)
            if min_gap > 0:
                d = a - b
                b = torch.where(d.abs() < min_gap, b - min_gap * 2 * torch.sign(d + 1e-12), b)
            return [a, b]
        return f

    def reg_in_avoid(shape, kinks):
        """Avoid |a-b| near 0 and near each kink."""
        def f():
            a = rn(shape) * 1.5
            b = rn(shape) * 1.5
            d = a - b
            for k in [0.0] + list(kinks):
                bad = ((d.abs() - k).abs() < 0.05)
                d = torch.where(bad, d + 0.15 * torch.sign(d + 1e-12), d)
            return [b + d, b]
        return f

    for r in RED:
        add("MSELoss", "3x4_" + r, {"reduction": r}, lambda r=r: nn.MSELoss(reduction=r), reg_in((3, 4)))
        add("L1Loss", "3x4_" + r, {"reduction": r}, lambda r=r: nn.L1Loss(reduction=r), reg_in_avoid((3, 4), []))
        add("SmoothL1Loss", "3x4_beta1_" + r, {"reduction": r, "beta": 1.0},
            lambda r=r: nn.SmoothL1Loss(reduction=r, beta=1.0), reg_in_avoid((3, 4), [1.0]))
        add("SmoothL1Loss", "3x4_beta0.5_" + r, {"reduction": r, "beta": 0.5},
            lambda r=r: nn.SmoothL1Loss(reduction=r, beta=0.5), reg_in_avoid((3, 4), [0.5]))
        add("HuberLoss", "3x4_delta1_" + r, {"reduction": r, "delta": 1.0},
            lambda r=r: nn.HuberLoss(reduction=r, delta=1.0), reg_in_avoid((3, 4), [1.0]))
        add("HuberLoss", "3x4_delta2_" + r, {"reduction": r, "delta": 2.0},
            lambda r=r: nn.HuberLoss(reduction=r, delta=2.0), reg_in_avoid((3, 4), [2.0]))
    add("MSELoss", "13_mean", {"reduction": "mean"}, lambda: nn.MSELoss(), reg_in((13,)))
    add("MSELoss", "2x1x7_mean", {"reduction": "mean"}, lambda: nn.MSELoss(), reg_in((2, 1, 7)))
    return cases


# ----------------------------------------------------------------------------
# optim.json
# ----------------------------------------------------------------------------

def gen_optim():
    seed_for("optim", "params")
    params0 = [torch.randn(3, 4), torch.randn(4)]
    grad_seq = [[torch.randn(3, 4), torch.randn(4)] for _ in range(3)]

    configs = [
        ("SGD", "plain", {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weightDecay": 0.0, "nesterov": False}),
        ("SGD", "momentum", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weightDecay": 0.0, "nesterov": False}),
        ("SGD", "dampening", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weightDecay": 0.0, "nesterov": False}),
        ("SGD", "nesterov", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weightDecay": 0.0, "nesterov": True}),
        ("SGD", "weightDecay", {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weightDecay": 0.01, "nesterov": False}),
        ("SGD", "momentum_weightDecay", {"lr": 0.05, "momentum": 0.9, "dampening": 0.0, "weightDecay": 0.1, "nesterov": False}),
        ("Adam", "default", {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.0, "amsgrad": False}),
        ("Adam", "lr0.1", {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.0, "amsgrad": False}),
        ("Adam", "amsgrad", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.0, "amsgrad": True}),
        ("Adam", "weightDecay", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weightDecay": 0.1, "amsgrad": False}),
        ("AdamW", "default", {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.01, "amsgrad": False}),
        ("AdamW", "wd0.1_lr0.01", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.1, "amsgrad": False}),
        ("AdamW", "amsgrad", {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.01, "amsgrad": True}),
        ("RMSprop", "default", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weightDecay": 0.0, "momentum": 0.0, "centered": False}),
        ("RMSprop", "momentum", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weightDecay": 0.0, "momentum": 0.9, "centered": False}),
        ("RMSprop", "centered", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weightDecay": 0.0, "momentum": 0.0, "centered": True}),
        ("RMSprop", "centered_momentum_wd", {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "weightDecay": 0.1, "momentum": 0.5, "centered": True}),
        ("Adagrad", "default", {"lr": 0.01, "lrDecay": 0.0, "weightDecay": 0.0, "initialAccumulatorValue": 0.0, "eps": 1e-10}),
        ("Adagrad", "lrDecay_wd_init", {"lr": 0.1, "lrDecay": 0.1, "weightDecay": 0.05, "initialAccumulatorValue": 0.1, "eps": 1e-10}),
    ]

    def build(name, params, a):
        if name == "SGD":
            return torch.optim.SGD(params, lr=a["lr"], momentum=a["momentum"], dampening=a["dampening"],
                                   weight_decay=a["weightDecay"], nesterov=a["nesterov"])
        if name in ("Adam", "AdamW"):
            cls = torch.optim.Adam if name == "Adam" else torch.optim.AdamW
            return cls(params, lr=a["lr"], betas=tuple(a["betas"]), eps=a["eps"],
                       weight_decay=a["weightDecay"], amsgrad=a["amsgrad"], foreach=False)
        if name == "RMSprop":
            return torch.optim.RMSprop(params, lr=a["lr"], alpha=a["alpha"], eps=a["eps"],
                                       weight_decay=a["weightDecay"], momentum=a["momentum"],
                                       centered=a["centered"], foreach=False)
        if name == "Adagrad":
            return torch.optim.Adagrad(params, lr=a["lr"], lr_decay=a["lrDecay"], weight_decay=a["weightDecay"],
                                       initial_accumulator_value=a["initialAccumulatorValue"], eps=a["eps"],
                                       foreach=False)
        raise ValueError(name)

    optims = []
    for name, label, a in configs:
        params = [p.clone().requires_grad_(True) for p in params0]
        opt = build(name, params, a)
        after = []
        for gs in grad_seq:
            for p, g in zip(params, gs):
                p.grad = g.clone()
            opt.step()
            after.append([p.detach().clone() for p in params])
        optims.append({"optim": name, "case": label, "args": a, "params": params0,
                       "grads": grad_seq, "after": after})

    # ---- schedulers ----
    scheds = []
    STEPS = 12

    def run_sched(name, label, a, make_sched, optim_name="SGD", optim_args=None, metrics=None,
                  record_momentum=False):
        optim_args = optim_args or {"lr": 0.1}
        p = torch.zeros(2, requires_grad=True)
        if optim_name == "SGD":
            opt = torch.optim.SGD([p], lr=optim_args["lr"], momentum=optim_args.get("momentum", 0.0))
        else:
            opt = torch.optim.Adam([p], lr=optim_args["lr"], betas=tuple(optim_args["betas"]))
        sched = make_sched(opt)
        lrs, moms = [], []
        for i in range(STEPS):
            lrs.append(float(opt.param_groups[0]["lr"]))
            if record_momentum:
                g0 = opt.param_groups[0]
                moms.append(float(g0["momentum"] if "momentum" in g0 and optim_name == "SGD" else g0["betas"][0]))
            p.grad = torch.zeros(2)
            opt.step()
            if metrics is not None:
                sched.step(metrics[i])
            else:
                sched.step()
        rec = {"scheduler": name, "case": label, "args": a, "optim": optim_name,
               "optimArgs": optim_args, "steps": STEPS, "lrs": lrs}
        if metrics is not None:
            rec["metrics"] = metrics
        if record_momentum:
            rec["momentums"] = moms
        scheds.append(rec)

    S = torch.optim.lr_scheduler
    run_sched("StepLR", "s3_g0.5", {"stepSize": 3, "gamma": 0.5}, lambda o: S.StepLR(o, 3, gamma=0.5))
    run_sched("MultiStepLR", "m3_7_g0.1", {"milestones": [3, 7], "gamma": 0.1},
              lambda o: S.MultiStepLR(o, [3, 7], gamma=0.1))
    run_sched("ExponentialLR", "g0.9", {"gamma": 0.9}, lambda o: S.ExponentialLR(o, 0.9))
    run_sched("CosineAnnealingLR", "t10_eta0.01", {"tMax": 10, "etaMin": 0.01},
              lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01))
    run_sched("CosineAnnealingLR", "t12_eta0", {"tMax": 12, "etaMin": 0.0},
              lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.0))
    run_sched("LinearLR", "0.25_1_4", {"startFactor": 0.25, "endFactor": 1.0, "totalIters": 4},
              lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4))
    run_sched("LinearLR", "1_0.1_8", {"startFactor": 1.0, "endFactor": 0.1, "totalIters": 8},
              lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=8))
    oc_args = {"maxLr": 1.0, "totalSteps": 12, "pctStart": 0.3, "annealStrategy": "cos",
               "cycleMomentum": True, "baseMomentum": 0.85, "maxMomentum": 0.95,
               "divFactor": 25.0, "finalDivFactor": 10000.0, "threePhase": False}
    run_sched("OneCycleLR", "sgd_cos", oc_args, lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=12),
              optim_name="SGD", optim_args={"lr": 0.1, "momentum": 0.9}, record_momentum=True)
    run_sched("OneCycleLR", "adam_cos", oc_args, lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=12),
              optim_name="Adam", optim_args={"lr": 0.1, "betas": [0.9, 0.999]}, record_momentum=True)
    oc_lin = dict(oc_args, annealStrategy="linear", maxLr=0.5, pctStart=0.25)
    run_sched("OneCycleLR", "sgd_linear", oc_lin,
              lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12, pct_start=0.25, anneal_strategy="linear"),
              optim_name="SGD", optim_args={"lr": 0.1, "momentum": 0.9}, record_momentum=True)
    plateau_defaults = {"threshold": 1e-4, "thresholdMode": "rel", "cooldown": 0, "minLr": 0.0, "eps": 1e-8}
    m_min = [1.0, 0.9, 0.95, 0.96, 0.97, 0.89, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95]
    run_sched("ReduceLROnPlateau", "min_f0.5_p2", dict({"mode": "min", "factor": 0.5, "patience": 2}, **plateau_defaults),
              lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2), metrics=m_min)
    m_max = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.7, 0.65, 0.64, 0.63, 0.62]
    run_sched("ReduceLROnPlateau", "max_f0.1_p1", dict({"mode": "max", "factor": 0.1, "patience": 1}, **plateau_defaults),
              lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=1), metrics=m_max)

    # ---- gradient clipping ----
    clip_norm = []
    for label, max_norm, norm_type, scale in [("l2_clip", 1.0, 2.0, 1.0), ("l2_noclip", 100.0, 2.0, 1.0),
                                              ("inf_clip", 0.5, "inf", 1.0), ("inf_noclip", 10.0, "inf", 1.0),
                                              ("l2_small_grads", 1.0, 2.0, 0.01)]:
        seed_for("clipGradNorm", label)
        params = [torch.randn(3, 4, requires_grad=True), torch.randn(4, requires_grad=True)]
        before = [torch.randn(3, 4) * scale, torch.randn(4) * scale]
        for p, g in zip(params, before):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm,
                                               norm_type=float("inf") if norm_type == "inf" else norm_type)
        clip_norm.append({"case": label, "args": {"maxNorm": max_norm, "normType": norm_type},
                          "gradsBefore": before, "gradsAfter": [p.grad.clone() for p in params],
                          "totalNorm": total})
    clip_value = []
    for label, cv in [("cv0.5", 0.5), ("cv2", 2.0)]:
        seed_for("clipGradValue", label)
        params = [torch.randn(3, 4, requires_grad=True), torch.randn(4, requires_grad=True)]
        before = [torch.randn(3, 4), torch.randn(4)]
        for p, g in zip(params, before):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_value_(params, cv)
        clip_value.append({"case": label, "args": {"clipValue": cv}, "gradsBefore": before,
                           "gradsAfter": [p.grad.clone() for p in params]})

    return {"optimizers": optims, "schedulers": scheds, "clipGradNorm": clip_norm,
            "clipGradValue": clip_value}


# ----------------------------------------------------------------------------
# seed_run.json
# ----------------------------------------------------------------------------

def gen_seed_run():
    N, EPOCHS, BATCH, LR = 512, 10, 16, 0.001
    seed_for("seed_run", "data")
    half = N // 2
    x0 = torch.randn(half, 2) * 0.8 + torch.tensor([-1.0, -1.0])
    x1 = torch.randn(half, 2) * 0.8 + torch.tensor([1.0, 1.0])
    x = torch.cat([x0, x1]).float()
    y = torch.cat([torch.zeros(half, 1), torch.ones(half, 1)]).float()
    mix = torch.randperm(N)
    x, y = x[mix].contiguous(), y[mix].contiguous()

    seed_for("seed_run", "model")
    model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
    init_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    g = torch.Generator()
    g.manual_seed(1234)
    perms = [torch.randperm(N, generator=g) for _ in range(EPOCHS)]

    criterion = nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(model.parameters(), lr=LR, foreach=False)
    n_batches = N // BATCH
    epoch_losses = []
    first_step = None
    for e in range(EPOCHS):
        running = 0.0
        for b in range(n_batches):
            ids = perms[e][b * BATCH:(b + 1) * BATCH]
            xb, yb = x[ids], y[ids]
            opt.zero_grad()
            out = model(xb)
            loss = criterion(out, yb)
            loss.backward()
            if first_step is None:
                first_step = {"loss": loss.detach().clone(),
                              "grads": {k: p.grad.clone() for k, p in model.named_parameters()}}
            opt.step()
            if e == 0 and b == 0:
                first_step["stateAfter"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            running += loss.item()
        epoch_losses.append(running / n_batches)
    final_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        final_logits = model(x)
        acc = float(((final_logits > 0).float() == y).float().mean())

    return {
        "description": "Seed program: Sequential(Linear(2,10), ReLU, Linear(10,1)), BCEWithLogitsLoss, "
                       "Adam(lr=0.001), batch 16 taken as permutations[epoch][16b:16b+16], "
                       "epochLosses[e] = sum of loss.item() over batches / numBatches",
        "numSamples": N, "epochs": EPOCHS, "batchSize": BATCH, "lr": LR,
        "optim": "Adam", "optimArgs": {"lr": LR, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 0.0, "amsgrad": False},
        "x": x, "y": y,
        "initialState": init_state,
        "permutations": perms,
        "firstStep": first_step,
        "epochLosses": epoch_losses,
        "finalState": final_state,
        "finalAccuracy": acc,
    }


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    write_json("ops.json", gen_ops())
    write_json("modules.json", gen_modules())
    write_json("optim.json", gen_optim())
    write_json("seed_run.json", gen_seed_run())


if __name__ == "__main__":
    main()

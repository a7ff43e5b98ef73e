#!/usr/bin/python3
"""PyTorch fixtures for Kiln's attention and Transformer layers: fixtures/torch/layers_attention.json.

Each case: module, case label, mode ("train" with dropout 0, or "eval"), the Kiln constructor args (camelCase),
repr, the state dict, inputs (with `roles` saying which input is query/key/value), the Kiln forward options
(`forward`: masks as tensors, flags as booleans), output, attention weights (MultiheadAttention only), the
upstream gradients, input gradients and parameter gradients.
torch 1.13 has no scaled_dot_product_attention, so its cases use the formula PyTorch 2.x documents; its
MultiheadAttention has no is_causal, so Kiln's `isCausal: true` cases run torch with the causal attn_mask.
Run from the repository root with Debian's python3 (torch 1.13):

    /usr/bin/python3 scripts/gen_fixtures_layers_attention.py

Deterministic: each case seeds torch from its own name (gen_fixtures.seed_for) and torch runs single-threaded.
"""

import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import rn, seed_for, uni, write_json  # noqa: E402  (also sets 1 thread, deterministic algorithms)


def sdpa_ref(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """torch.nn.functional.scaled_dot_product_attention's documented math (PyTorch 2.x), dropout 0."""
    L, S = q.size(-2), k.size(-2)
    scale_factor = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S, dtype=q.dtype)
    if is_causal:
        bias.masked_fill_(torch.ones(L, S, dtype=torch.bool).tril(0).logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            bias = attn_mask + bias
    w = torch.softmax(q @ k.transpose(-2, -1) * scale_factor + bias, dim=-1)
    return w @ v


def randomize(mod):
    """Move biases and norm weights off their zeros/ones init, so every term is tested."""
    with torch.no_grad():
        for name, p in mod.named_parameters():
            if name.endswith("bias"):
                p.copy_(rn(p.shape) * 0.2)
            elif "norm" in name:
                p.copy_(uni(p.shape, 0.5, 1.5))


def causal(n):
    return torch.triu(torch.full((n, n), float("-inf")), diagonal=1)


def causal_bool(n):
    """The same mask for Kiln's side of the fixture (JSON has no -inf): true above the diagonal = masked out."""
    return torch.ones(n, n, dtype=torch.bool).triu(1)


def bool_mask(shape, p=0.3):
    """True with probability p, never a whole last-dim row (a fully masked row is NaN in PyTorch and Kiln)."""
    m = torch.rand(shape) < p
    m[..., 0] = False
    return m


def run_case(module, label, mode, args, build, make, call):
    """make() -> (inputs, roles, kiln_forward_dict, torch_kwargs); call(mod, xs, kw) -> (out, weights or None)."""
    seed_for("layers_attention", module, label)
    mod = build()
    randomize(mod)
    inputs, roles, fwd, kw = make()
    state = {k: v.detach().clone() for k, v in mod.state_dict().items()}
    mod.train(mode == "train")
    xs = [x.clone().requires_grad_(True) for x in inputs]
    seed_for("layers_attention", module, label, mode)
    out, weights = call(mod, [xs[r] for r in roles], kw)
    g = torch.randn(out.shape, dtype=out.dtype)
    loss = (out * g).sum()
    gw = None
    if weights is not None:
        gw = torch.randn(weights.shape, dtype=weights.dtype)
        loss = loss + (weights * gw).sum()
    loss.backward()
    return {
        "module": module, "case": label, "mode": mode, "args": args, "repr": repr(mod) if module != "sdpa" else "",
        "stateDict": state, "inputs": inputs, "roles": roles, "forward": fwd, "output": out, "weights": weights,
        "gradOutput": g, "gradWeights": gw, "grads": [x.grad for x in xs],
        "paramGrads": {k: p.grad for k, p in mod.named_parameters()},
    }


def mha_kw(a):
    names = {"dropout": "dropout", "bias": "bias", "batchFirst": "batch_first", "kdim": "kdim", "vdim": "vdim"}
    return {names[k]: v for k, v in a.items() if k not in ("embedDim", "numHeads")}


def layer_kw(a):
    names = {"dimFeedforward": "dim_feedforward", "dropout": "dropout", "activation": "activation",
             "layerNormEps": "layer_norm_eps", "batchFirst": "batch_first", "normFirst": "norm_first"}
    return {names[k]: v for k, v in a.items() if k not in ("dModel", "nhead")}


def gen_cases():
    cases = []

    def add(module, label, args, build, make, call):
        for mode in ("train", "eval"):
            cases.append(run_case(module, label, mode, args, build, make, call))

    # ---- scaled dot-product attention (no parameters) ----
    class NoParams(nn.Module):
        pass

    def sdpa(label, qs, ks, vs, mask=None, is_causal=False, scale=None):
        def make():
            m = mask() if mask else None
            fwd = {}
            if m is not None:
                fwd["attnMask"] = m
            if is_causal:
                fwd["isCausal"] = True
            if scale is not None:
                fwd["scale"] = scale
            return [rn(qs), rn(ks), rn(vs)], [0, 1, 2], fwd, {"attn_mask": m, "is_causal": is_causal, "scale": scale}
        add("sdpa", label, {}, NoParams, make, lambda mod, xs, kw: (sdpa_ref(*xs, **kw), None))

    sdpa("B2_H3_L5_S7_E4", (2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6))
    sdpa("bool_mask_L5_S7", (2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), mask=lambda: bool_mask((5, 7)).logical_not())
    sdpa("float_mask_B2_1_L5_S7", (2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), mask=lambda: rn((2, 1, 5, 7)))
    sdpa("causal_L5_S7", (2, 5, 4), (2, 7, 4), (2, 7, 4), is_causal=True)
    sdpa("causal_scale_0.5_3d", (3, 5, 6), (3, 5, 6), (3, 5, 2), is_causal=True, scale=0.5)
    sdpa("broadcast_k_2d", (2, 3, 5, 4), (7, 4), (7, 4))

    # ---- MultiheadAttention: E=12, 3 heads, L=5, S=7, N=2 ----
    L, S, N, E, H = 5, 7, 2, 12, 3

    def mha(label, args, roles, shapes, fwd_make=lambda: ({}, {})):
        def make():
            xs = [rn(s) for s in shapes]
            fwd, kw = fwd_make()
            return xs, roles, fwd, kw

        def call(mod, xs, kw):
            return mod(*xs, **kw)
        add("MultiheadAttention", label, args, lambda: nn.MultiheadAttention(E if "kdim" not in args else args["embedDim"],
                                                                              args["numHeads"], **mha_kw(args)), make, call)

    base = {"embedDim": E, "numHeads": H, "dropout": 0.0}
    seq = lambda n: (n, N, E)
    bf = lambda n: (N, n, E)
    mha("self_seq_first", base, [0, 0, 0], [seq(L)])
    mha("cross_batch_first_k_is_v", {**base, "batchFirst": True}, [0, 1, 1], [bf(L), bf(S)])
    mha("cross_distinct_qkv", base, [0, 1, 2], [seq(L), seq(S), seq(S)])
    mha("unbatched", base, [0, 1, 1], [(L, E), (S, E)])

    def kpm():
        m = bool_mask((N, S))
        return {"keyPaddingMask": m}, {"key_padding_mask": m}
    mha("key_padding_bool", {**base, "batchFirst": True}, [0, 1, 1], [bf(L), bf(S)], kpm)

    def am_bool():
        m = bool_mask((L, S))
        return {"attnMask": m}, {"attn_mask": m}
    mha("attn_mask_bool", base, [0, 1, 1], [seq(L), seq(S)], am_bool)

    def am_float():
        m = rn((L, S))
        return {"attnMask": m}, {"attn_mask": m}
    mha("attn_mask_float", base, [0, 1, 1], [seq(L), seq(S)], am_float)

    def am3_kpm():
        m, p = rn((N * H, L, S)), bool_mask((N, S))
        return {"attnMask": m, "keyPaddingMask": p}, {"attn_mask": m, "key_padding_mask": p}
    mha("attn_mask_3d_float_and_key_padding", base, [0, 1, 1], [seq(L), seq(S)], am3_kpm)

    def am3_bool_kpm():
        m, p = bool_mask((N * H, L, S)), bool_mask((N, S))
        return {"attnMask": m, "keyPaddingMask": p}, {"attn_mask": m, "key_padding_mask": p}
    mha("attn_mask_3d_bool_and_key_padding", {**base, "batchFirst": True}, [0, 1, 1], [bf(L), bf(S)], am3_bool_kpm)

    mha("causal", base, [0, 0, 0], [seq(L)], lambda: ({"isCausal": True}, {"attn_mask": causal(L)}))
    mha("kdim_8_vdim_6", {**base, "kdim": 8, "vdim": 6}, [0, 1, 2], [seq(L), (S, N, 8), (S, N, 6)])
    mha("need_weights_false", base, [0, 0, 0], [seq(L)], lambda: ({"needWeights": False}, {"need_weights": False}))
    mha("per_head_weights", {**base, "batchFirst": True}, [0, 1, 1], [bf(L), bf(S)],
        lambda: ({"averageAttnWeights": False}, {"average_attn_weights": False}))
    mha("no_bias", {**base, "bias": False}, [0, 0, 0], [seq(L)])

    # ---- Transformer layers: dModel 12, nhead 3, feed-forward 24 ----
    def enc_layer(label, args, shape, fwd_make=lambda: ({}, {})):
        def make():
            fwd, kw = fwd_make()
            return [rn(shape)], [0], fwd, kw
        add("TransformerEncoderLayer", label, args, lambda: nn.TransformerEncoderLayer(12, 3, **layer_kw(args)), make,
            lambda mod, xs, kw: (mod(xs[0], **kw), None))

    lay = {"dModel": 12, "nhead": 3, "dimFeedforward": 24, "dropout": 0.0}
    enc_layer("relu_post_norm", lay, (L, N, E))
    enc_layer("gelu_norm_first_batch_first", {**lay, "activation": "gelu", "normFirst": True, "batchFirst": True}, (N, L, E))

    def enc_masks():
        m, p = causal(L), bool_mask((N, L))
        return {"srcMask": causal_bool(L), "srcKeyPaddingMask": p}, {"src_mask": m, "src_key_padding_mask": p}
    enc_layer("masks_eps_1e-3", {**lay, "layerNormEps": 1e-3}, (L, N, E), enc_masks)
    enc_layer("causal_norm_first", {**lay, "normFirst": True}, (L, N, E),
              lambda: ({"isCausal": True}, {"src_mask": causal(L)}))

    def encoder_make():
        p = bool_mask((N, L))
        return [rn((N, L, E))], [0], {"srcKeyPaddingMask": p}, {"src_key_padding_mask": p}
    enc_args = {"layer": {**lay, "batchFirst": True}, "numLayers": 2, "norm": True}
    add("TransformerEncoder", "2_layers_final_norm_key_padding", enc_args,
        lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(12, 3, **layer_kw(enc_args["layer"])), 2, norm=nn.LayerNorm(12)),
        encoder_make, lambda mod, xs, kw: (mod(xs[0], **kw), None))

    def dec_layer(label, args, shapes, fwd_make=lambda: ({}, {})):
        def make():
            fwd, kw = fwd_make()
            return [rn(s) for s in shapes], [0, 1], fwd, kw
        add("TransformerDecoderLayer", label, args, lambda: nn.TransformerDecoderLayer(12, 3, **layer_kw(args)), make,
            lambda mod, xs, kw: (mod(xs[0], xs[1], **kw), None))

    def dec_masks():
        mm, tp, mp = rn((L, S)), bool_mask((N, L)), bool_mask((N, S))
        return ({"tgtMask": causal_bool(L), "memoryMask": mm, "tgtKeyPaddingMask": tp, "memoryKeyPaddingMask": mp},
                {"tgt_mask": causal(L), "memory_mask": mm, "tgt_key_padding_mask": tp, "memory_key_padding_mask": mp})
    dec_layer("relu_post_norm_all_masks", lay, [(L, N, E), (S, N, E)], dec_masks)
    dec_layer("gelu_norm_first_batch_first_tgt_causal", {**lay, "activation": "gelu", "normFirst": True, "batchFirst": True},
              [(N, L, E), (N, S, E)], lambda: ({"tgtIsCausal": True}, {"tgt_mask": causal(L)}))

    def transformer_make():
        return [rn((S, N, E)), rn((L, N, E))], [0, 1], {"tgtMask": causal_bool(L)}, {"tgt_mask": causal(L)}
    tr_args = {"dModel": 12, "nhead": 3, "numEncoderLayers": 2, "numDecoderLayers": 1, "dimFeedforward": 16, "dropout": 0.0}
    add("Transformer", "enc2_dec1", tr_args,
        lambda: nn.Transformer(d_model=12, nhead=3, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16, dropout=0.0),
        transformer_make, lambda mod, xs, kw: (mod(xs[0], xs[1], **kw), None))
    return cases


def main():
    write_json("layers_attention.json", {"cases": gen_cases()})


if __name__ == "__main__":
    main()

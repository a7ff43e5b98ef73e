#!/usr/bin/python3
"""PyTorch fixtures for Kiln's convolution, pooling and upsampling layers: fixtures/torch/layers_conv.json.

Each case (same layout as modules.json): module name, case label, the Kiln constructor args (camelCase), the
state dict, inputs, output, the upstream gradient, input gradients and parameter gradients.
Run from the repository root with Debian's python3 (torch 1.13):

    /usr/bin/python3 scripts/gen_fixtures_layers_conv.py

Deterministic: each case seeds torch from its own name (gen_fixtures.seed_for) and torch runs single-threaded.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import write_json, seed_for, rn  # noqa: E402  (also sets 1 thread, deterministic algorithms)


def run_case(name, label, args, build, make_input):
    seed_for("layers_conv", name, label)
    mod = build()
    x = make_input().clone().requires_grad_(True)
    state = {k: v.detach().clone() for k, v in mod.state_dict().items()}
    y = mod(x)
    g = torch.randn(y.shape, dtype=y.dtype)
    (y * g).sum().backward()
    return {"module": name, "case": label, "args": args, "stateDict": state, "inputs": [x], "output": y,
            "gradOutput": g, "grads": [x.grad], "paramGrads": {k: p.grad for k, p in mod.named_parameters()}}


def conv_kw(a):
    """Kiln option names -> torch keyword names."""
    names = {"stride": "stride", "padding": "padding", "dilation": "dilation", "groups": "groups", "bias": "bias",
             "paddingMode": "padding_mode", "outputPadding": "output_padding", "ceilMode": "ceil_mode",
             "countIncludePad": "count_include_pad", "scaleFactor": "scale_factor", "size": "size", "mode": "mode",
             "alignCorners": "align_corners"}
    return {names[k]: (tuple(v) if isinstance(v, list) else v) for k, v in a.items()}


def gen():
    cases = []
    seen = set()

    def add(name, label, args, shape, pos=None):
        assert (name, label) not in seen
        seen.add((name, label))
        ctor = getattr(nn, name)
        pos = pos or []

        def build():
            return ctor(*[tuple(p) if isinstance(p, list) else p for p in pos], **conv_kw(args))

        make = shape if callable(shape) else (lambda: rn(shape))
        full = dict(args)
        full["_positional"] = pos
        cases.append(run_case(name, label, full, build, make))

    # ---- Conv2d: (inChannels, outChannels, kernelSize) positional ----
    add("Conv2d", "3x3_pad1_7x7", {"padding": 1}, (2, 3, 7, 7), [3, 4, 3])
    add("Conv2d", "3x3_5x6_nopad", {}, (2, 2, 5, 6), [2, 3, 3])
    add("Conv2d", "3x3_stride2_pad1_7x7", {"stride": 2, "padding": 1}, (2, 3, 7, 7), [3, 4, 3])
    add("Conv2d", "2x3_stride_2_1_pad_1_0", {"stride": [2, 1], "padding": [1, 0]}, (1, 2, 5, 6), [2, 3, [2, 3]])
    add("Conv2d", "3x3_same", {"padding": "same"}, (2, 2, 5, 6), [2, 3, 3])
    add("Conv2d", "4x4_same_even", {"padding": "same"}, (1, 2, 6, 5), [2, 3, 4])
    add("Conv2d", "2x3_same_dil2", {"padding": "same", "dilation": 2}, (1, 2, 7, 7), [2, 2, [2, 3]])
    add("Conv2d", "3x3_valid", {"padding": "valid"}, (1, 2, 6, 6), [2, 3, 3])
    add("Conv2d", "3x3_dil2_pad2", {"dilation": 2, "padding": 2}, (2, 2, 7, 7), [2, 3, 3])
    add("Conv2d", "3x3_groups2", {"groups": 2, "padding": 1}, (2, 4, 5, 6), [4, 6, 3])
    add("Conv2d", "3x3_depthwise", {"groups": 3, "padding": 1}, (2, 3, 7, 7), [3, 6, 3])
    add("Conv2d", "3x3_nobias", {"bias": False}, (2, 3, 7, 7), [3, 4, 3])
    add("Conv2d", "1x1", {}, (2, 3, 5, 6), [3, 5, 1])
    add("Conv2d", "3x3_reflect", {"padding": 1, "paddingMode": "reflect"}, (1, 2, 5, 6), [2, 3, 3])
    add("Conv2d", "3x3_replicate_pad2", {"padding": 2, "paddingMode": "replicate"}, (1, 2, 5, 6), [2, 3, 3])
    add("Conv2d", "3x3_circular", {"padding": 1, "paddingMode": "circular"}, (1, 2, 5, 6), [2, 3, 3])
    add("Conv2d", "3x3_unbatched", {"padding": 1}, (3, 5, 6), [3, 2, 3])
    add("Conv2d", "mnist_1_16_3x3_pad1", {"padding": 1}, (1, 1, 28, 28), [1, 16, 3])

    # ---- Conv1d ----
    add("Conv1d", "k3_L7", {}, (2, 3, 7), [3, 4, 3])
    add("Conv1d", "k3_stride2_pad1", {"stride": 2, "padding": 1}, (2, 3, 9), [3, 4, 3])
    add("Conv1d", "k4_same", {"padding": "same"}, (2, 2, 7), [2, 3, 4])
    add("Conv1d", "k3_dil2_groups2_nobias", {"dilation": 2, "groups": 2, "bias": False}, (2, 4, 9), [4, 2, 3])
    add("Conv1d", "k3_circular", {"padding": 2, "paddingMode": "circular"}, (1, 2, 6), [2, 3, 3])

    # ---- ConvTranspose2d ----
    add("ConvTranspose2d", "3x3", {}, (2, 3, 4, 5), [3, 2, 3])
    add("ConvTranspose2d", "3x3_stride2", {"stride": 2}, (2, 3, 4, 5), [3, 2, 3])
    add("ConvTranspose2d", "3x3_stride2_pad1_outpad1", {"stride": 2, "padding": 1, "outputPadding": 1}, (1, 2, 5, 4), [2, 3, 3])
    add("ConvTranspose2d", "3x3_groups2", {"groups": 2, "stride": 2, "padding": 1}, (2, 4, 3, 4), [4, 6, 3])
    add("ConvTranspose2d", "2x3_dil2_nobias", {"dilation": 2, "bias": False, "padding": [1, 2]}, (1, 2, 4, 4), [2, 3, [2, 3]])
    # padding > dilation * (k - 1): the spread-out input is cropped, not padded
    add("ConvTranspose2d", "2x2_stride2_pad2_crop", {"stride": 2, "padding": [2, 1]}, (1, 2, 5, 4), [2, 3, 2])
    add("ConvTranspose2d", "4x4_stride2_pad3", {"stride": 2, "padding": 3}, (1, 2, 5, 5), [2, 2, 4])

    # ---- pools: (kernelSize) positional ----
    add("MaxPool2d", "2_7x7", {}, (2, 3, 7, 7), [2])
    add("MaxPool2d", "3_stride2_pad1", {"stride": 2, "padding": 1}, (2, 2, 7, 7), [3])
    add("MaxPool2d", "3_stride2_ceil", {"stride": 2, "ceilMode": True}, (1, 2, 8, 6), [3])
    add("MaxPool2d", "2x3_stride_1_2_dil2", {"stride": [1, 2], "dilation": 2}, (1, 2, 7, 8), [[2, 3]])
    add("MaxPool2d", "2_ceil_pad1_5x6", {"padding": 1, "ceilMode": True}, (1, 2, 5, 6), [2])
    add("MaxPool2d", "2_ties", {"stride": 1}, lambda: torch.randint(0, 3, (1, 2, 5, 5)).float(), [2])
    add("MaxPool2d", "3_unbatched", {}, (2, 6, 7), [3])
    add("MaxPool1d", "3", {}, (2, 3, 9), [3])
    add("MaxPool1d", "3_stride2_pad1_ceil", {"stride": 2, "padding": 1, "ceilMode": True}, (2, 2, 8), [3])
    add("MaxPool1d", "2_dil2", {"dilation": 2}, (1, 2, 9), [2])
    add("AvgPool2d", "2_7x7", {}, (2, 3, 7, 7), [2])
    add("AvgPool2d", "3_stride2_pad1", {"stride": 2, "padding": 1}, (1, 2, 7, 7), [3])
    add("AvgPool2d", "3_stride2_pad1_exclude", {"stride": 2, "padding": 1, "countIncludePad": False}, (1, 2, 7, 7), [3])
    add("AvgPool2d", "3_stride2_ceil", {"stride": 2, "ceilMode": True}, (1, 2, 8, 6), [3])
    add("AvgPool2d", "3_stride2_pad1_ceil_exclude", {"stride": 2, "padding": 1, "ceilMode": True, "countIncludePad": False},
        (1, 2, 6, 8), [3])
    add("AvgPool2d", "2x3_stride_1_2", {"stride": [1, 2]}, (1, 2, 5, 6), [[2, 3]])
    add("AvgPool1d", "3", {}, (2, 3, 9), [3])
    add("AvgPool1d", "4_stride2_pad2_ceil", {"stride": 2, "padding": 2, "ceilMode": True}, (1, 2, 9), [4])
    add("AvgPool1d", "3_pad1_exclude", {"padding": 1, "countIncludePad": False}, (1, 2, 7), [3])

    # ---- adaptive pool: (outputSize) positional ----
    add("AdaptiveAvgPool2d", "7_to_3", {}, (2, 3, 7, 7), [3])
    add("AdaptiveAvgPool2d", "5x6_to_3x4", {}, (1, 2, 5, 6), [[3, 4]])
    add("AdaptiveAvgPool2d", "6x5_to_4_none", {}, (1, 2, 6, 5), [[4, None]])
    add("AdaptiveAvgPool2d", "5x6_to_1", {}, (2, 3, 5, 6), [1])
    add("AdaptiveAvgPool2d", "3x3_to_5x4_upsampling", {}, (1, 2, 3, 3), [[5, 4]])

    # ---- Upsample: options only ----
    add("Upsample", "nearest_x2", {"scaleFactor": 2, "mode": "nearest"}, (1, 2, 3, 4))
    add("Upsample", "nearest_x3_x1.5", {"scaleFactor": [3.0, 1.5], "mode": "nearest"}, (1, 2, 3, 4))
    add("Upsample", "nearest_size_5x7", {"size": [5, 7], "mode": "nearest"}, (1, 2, 3, 4))
    add("Upsample", "nearest_size_down_2x3", {"size": [2, 3], "mode": "nearest"}, (1, 2, 5, 7))
    # 6 -> 74: float32 In/Out puts output 37 on input 2; in double it would land on 3
    add("Upsample", "nearest_size_float32_scale_6_to_74", {"size": [3, 74], "mode": "nearest"}, (1, 1, 2, 6))
    add("Upsample", "bilinear_x2", {"scaleFactor": 2, "mode": "bilinear"}, (2, 2, 3, 4))
    add("Upsample", "bilinear_x2_align", {"scaleFactor": 2, "mode": "bilinear", "alignCorners": True}, (2, 2, 3, 4))
    add("Upsample", "bilinear_size_5x7", {"size": [5, 7], "mode": "bilinear"}, (1, 2, 3, 4))
    add("Upsample", "bilinear_size_5x7_align", {"size": [5, 7], "mode": "bilinear", "alignCorners": True}, (1, 2, 3, 4))
    add("Upsample", "bilinear_down_4x3", {"size": [4, 3], "mode": "bilinear"}, (1, 2, 7, 6))
    add("Upsample", "bilinear_x1.7", {"scaleFactor": 1.7, "mode": "bilinear"}, (1, 2, 4, 5))
    return cases


if __name__ == "__main__":
    write_json("layers_conv.json", gen())

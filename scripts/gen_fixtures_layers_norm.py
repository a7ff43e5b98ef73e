#!/usr/bin/python3
"""PyTorch reference fixtures for Kiln's normalisation, embedding and container layers.

Writes fixtures/torch/layers_norm.json, a dict with:
  cases      - BatchNorm1d/2d, LayerNorm, GroupNorm, RMSNorm and Embedding configs, each run once in
               train mode and once in eval mode: args (Kiln's option names), repr (print(module)),
               stateDict before, inputs, output, gradOutput, input grads, parameter grads, and
               stateAfter (the state dict after the forward: BatchNorm's updated running stats)
  containers - a model holding ModuleList and ModuleDict: repr, state-dict keys, parameter and
               module names

Run from the repository root with Debian's python3 (torch 1.13):

    /usr/bin/python3 scripts/gen_fixtures_layers_norm.py

torch 1.13 has no nn.RMSNorm and no LayerNorm(bias=False): those cases run small reference modules
with PyTorch 2.4's formula (x * rsqrt(mean(x^2) + eps) * weight, eps None -> finfo eps) and
F.layer_norm without a bias, and their repr is PyTorch 2.4's. Deterministic: each case seeds torch
from its own name (the tensor writer and seeding come from gen_fixtures.py).
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import rn, seed_for, uni, write_json  # noqa: E402  (also sets threads and determinism)


class RMSNormRef(nn.Module):
    """PyTorch 2.4's nn.RMSNorm, for torch 1.13."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x):
        dims = tuple(range(-len(self.normalized_shape), 0))
        eps = torch.finfo(x.dtype).eps if self.eps is None else self.eps
        y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
        return y * self.weight if self.weight is not None else y


class LayerNormNoBias(nn.Module):
    """PyTorch 2.1+'s LayerNorm(bias=False), for torch 1.13."""

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape))

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, None, self.eps)


def randomize(mod):
    """Move parameters and running stats away from their ones/zeros init, so every term is tested."""
    with torch.no_grad():
        for name, p in mod.named_parameters():
            if isinstance(mod, nn.Embedding):
                continue  # already N(0, 1), padding row zero
            p.copy_(uni(p.shape, 0.5, 1.5) if name.endswith("weight") else rn(p.shape) * 0.5)
        for name, b in mod.named_buffers():
            if name == "running_mean":
                b.copy_(rn(b.shape) * 0.5)
            elif name == "running_var":
                b.copy_(uni(b.shape, 0.5, 2.0))
            elif name == "num_batches_tracked":
                b.fill_(3)


def clone_state(mod):
    return {k: v.detach().clone() for k, v in mod.state_dict().items()}


def run_case(module, label, mode, args, build, make_input, repr_str=None):
    seed_for("layers_norm", module, label)
    mod = build()
    randomize(mod)
    x = make_input()  # same input in both modes: the seed does not depend on the mode
    seed_for("layers_norm", module, label, mode)
    state = clone_state(mod)
    mod.train(mode == "train")
    differentiable = x.is_floating_point()
    if differentiable:
        x.requires_grad_(True)
    y = mod(x)
    g = torch.randn(y.shape, dtype=y.dtype)
    (y * g).sum().backward()
    return {
        "module": module, "case": label, "mode": mode, "args": args,
        "repr": repr_str if repr_str is not None else repr(mod),
        "stateDict": state, "inputs": [x], "output": y, "gradOutput": g,
        "grads": [x.grad if differentiable else None],
        "paramGrads": {k: p.grad for k, p in mod.named_parameters()},
        "stateAfter": clone_state(mod),
    }


def embedding_indices(shape, high, must_have=()):
    """int64 indices with repeats (gradient accumulation) and the given values present."""
    idx = torch.randint(0, high, tuple(shape), dtype=torch.int64).reshape(-1)
    for i, v in enumerate(must_have):
        idx[i * 2] = v
    idx[-1] = idx[0]  # a guaranteed repeat
    return idx.reshape(tuple(shape))


def gen_cases():
    cases = []
    seen = set()

    def add(module, label, args, build, make_input, repr_str=None):
        assert (module, label) not in seen
        seen.add((module, label))
        for mode in ("train", "eval"):
            cases.append(run_case(module, label, mode, args, build, make_input, repr_str))

    # ---- BatchNorm ----
    bn = lambda n, **kw: {"numFeatures": n, **kw}
    add("BatchNorm1d", "N6_C3", bn(3), lambda: nn.BatchNorm1d(3), lambda: rn((6, 3)))
    add("BatchNorm1d", "N4_C3_L5", bn(3), lambda: nn.BatchNorm1d(3), lambda: rn((4, 3, 5)) * 2 + 0.5)
    add("BatchNorm1d", "momentum_None_N4_C3_L5", bn(3, momentum=None),
        lambda: nn.BatchNorm1d(3, momentum=None), lambda: rn((4, 3, 5)))
    add("BatchNorm1d", "eps_1e-3_momentum_0.3_N5_C2_L3", bn(2, eps=1e-3, momentum=0.3),
        lambda: nn.BatchNorm1d(2, eps=1e-3, momentum=0.3), lambda: rn((5, 2, 3)))
    add("BatchNorm1d", "affine_False_N5_C3", bn(3, affine=False),
        lambda: nn.BatchNorm1d(3, affine=False), lambda: rn((5, 3)))
    add("BatchNorm1d", "track_False_N4_C3_L5", bn(3, trackRunningStats=False),
        lambda: nn.BatchNorm1d(3, track_running_stats=False), lambda: rn((4, 3, 5)))
    add("BatchNorm2d", "N2_C3_H7_W7", bn(3), lambda: nn.BatchNorm2d(3), lambda: rn((2, 3, 7, 7)) + 1.0)
    add("BatchNorm2d", "affine_False_N3_C4_H5_W6", bn(4, affine=False),
        lambda: nn.BatchNorm2d(4, affine=False), lambda: rn((3, 4, 5, 6)))
    add("BatchNorm2d", "track_False_momentum_None_N2_C2_H3_W3", bn(2, momentum=None, trackRunningStats=False),
        lambda: nn.BatchNorm2d(2, momentum=None, track_running_stats=False), lambda: rn((2, 2, 3, 3)))

    # ---- LayerNorm ----
    add("LayerNorm", "4_on_3x4", {"normalizedShape": [4]}, lambda: nn.LayerNorm(4), lambda: rn((3, 4)))
    add("LayerNorm", "3x5_on_2x3x5", {"normalizedShape": [3, 5]}, lambda: nn.LayerNorm([3, 5]), lambda: rn((2, 3, 5)) * 3)
    add("LayerNorm", "noaffine_5_on_2x7x5", {"normalizedShape": [5], "elementwiseAffine": False},
        lambda: nn.LayerNorm(5, elementwise_affine=False), lambda: rn((2, 7, 5)))
    add("LayerNorm", "eps_1e-3_7_on_3x7", {"normalizedShape": [7], "eps": 1e-3},
        lambda: nn.LayerNorm(7, eps=1e-3), lambda: rn((3, 7)) * 0.1)
    add("LayerNorm", "nobias_5_on_2x3x5", {"normalizedShape": [5], "bias": False},
        lambda: LayerNormNoBias([5]), lambda: rn((2, 3, 5)),
        "LayerNorm((5,), eps=1e-05, elementwise_affine=True)")

    # ---- GroupNorm ----
    add("GroupNorm", "2_6_on_3x6x5", {"numGroups": 2, "numChannels": 6},
        lambda: nn.GroupNorm(2, 6), lambda: rn((3, 6, 5)))
    add("GroupNorm", "3_3_on_2x3x7x7", {"numGroups": 3, "numChannels": 3},
        lambda: nn.GroupNorm(3, 3), lambda: rn((2, 3, 7, 7)) * 2 - 1)
    add("GroupNorm", "1_4_on_5x4", {"numGroups": 1, "numChannels": 4},
        lambda: nn.GroupNorm(1, 4), lambda: rn((5, 4)))
    add("GroupNorm", "noaffine_eps_1e-3_2_4_on_2x4x3", {"numGroups": 2, "numChannels": 4, "affine": False, "eps": 1e-3},
        lambda: nn.GroupNorm(2, 4, eps=1e-3, affine=False), lambda: rn((2, 4, 3)))

    # ---- RMSNorm (PyTorch 2.4 formula) ----
    add("RMSNorm", "4_on_3x4_epsNone", {"normalizedShape": [4]},
        lambda: RMSNormRef([4]), lambda: rn((3, 4)),
        "RMSNorm((4,), eps=None, elementwise_affine=True)")
    add("RMSNorm", "3x5_on_2x3x5_eps_1e-6", {"normalizedShape": [3, 5], "eps": 1e-6},
        lambda: RMSNormRef([3, 5], eps=1e-6), lambda: rn((2, 3, 5)) * 2,
        "RMSNorm((3, 5), eps=1e-06, elementwise_affine=True)")
    add("RMSNorm", "noaffine_5_on_2x7x5", {"normalizedShape": [5], "elementwiseAffine": False},
        lambda: RMSNormRef([5], elementwise_affine=False), lambda: rn((2, 7, 5)),
        "RMSNorm((5,), eps=None, elementwise_affine=False)")

    # ---- Embedding ----
    add("Embedding", "10x3_idx_2x5", {"numEmbeddings": 10, "embeddingDim": 3},
        lambda: nn.Embedding(10, 3), lambda: embedding_indices((2, 5), 10))
    add("Embedding", "7x4_pad0_idx_3x4", {"numEmbeddings": 7, "embeddingDim": 4, "paddingIdx": 0},
        lambda: nn.Embedding(7, 4, padding_idx=0), lambda: embedding_indices((3, 4), 7, must_have=(0, 0)))
    add("Embedding", "7x4_padneg1_idx_9", {"numEmbeddings": 7, "embeddingDim": 4, "paddingIdx": -1},
        lambda: nn.Embedding(7, 4, padding_idx=-1), lambda: embedding_indices((9,), 7, must_have=(6,)))
    add("Embedding", "5x2_scalar_idx", {"numEmbeddings": 5, "embeddingDim": 2},
        lambda: nn.Embedding(5, 2), lambda: torch.tensor(3, dtype=torch.int64))
    return cases


class ContainerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4, padding_idx=0)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2, bias=False)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "norm": nn.BatchNorm1d(2)})
        self.empty = nn.ModuleList()
        self.out = nn.GroupNorm(1, 3)

    def forward(self, x):
        raise NotImplementedError


def gen_containers():
    seed_for("layers_norm", "containers")
    m = ContainerNet()
    return {
        "repr": repr(m),
        "stateDictKeys": list(m.state_dict().keys()),
        "namedParameters": [k for k, _ in m.named_parameters()],
        "namedModules": [k for k, _ in m.named_modules()],
        "listRepr": repr(m.layers),
        "dictRepr": repr(m.heads),
    }


def main():
    write_json("layers_norm.json", {"cases": gen_cases(), "containers": gen_containers()})


if __name__ == "__main__":
    main()

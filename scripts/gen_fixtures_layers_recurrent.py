#!/usr/bin/python3
"""PyTorch reference fixtures for Kiln's recurrent layers (RNN, LSTM, GRU and their cells).

Writes fixtures/torch/layers_recurrent.json, a dict with:
  cases - one entry per configuration: module, case, args (Kiln's option names), mode ("train" or
          "eval"), repr (print(module)), stateDict, inputs (input, h0, c0: the ones passed), outputs
          (output, hN, cN for the sequence layers; h, c for the cells), gradOutputs (a random
          gradient for every output), grads (gradients of every input) and paramGrads

Run from the repository root with Debian's python3 (torch 1.13):

    /usr/bin/python3 scripts/gen_fixtures_layers_recurrent.py

The default sizes are odd on purpose (input 3, hidden 5, sequence 7, batch 2). Deterministic: each case
seeds torch from its own name (the tensor writer and seeding come from gen_fixtures.py).
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import rn, seed_for, write_json  # noqa: E402  (also sets threads and determinism)

IN, HID, SEQ, BATCH = 3, 5, 7, 2

# Kiln option name -> PyTorch keyword
KW = {"numLayers": "num_layers", "nonlinearity": "nonlinearity", "bias": "bias", "batchFirst": "batch_first",
      "dropout": "dropout", "bidirectional": "bidirectional"}


def build(module, args):
    kw = {KW[k]: v for k, v in args.items() if k not in ("inputSize", "hiddenSize")}
    return getattr(nn, module)(args["inputSize"], args["hiddenSize"], **kw)


def run_case(module, label, args, input_shape, with_hx=True, mode="train"):
    seed_for("layers_recurrent", module, label)
    mod = build(module, args)
    mod.train(mode == "train")
    is_cell = module.endswith("Cell")
    is_lstm = module.startswith("LSTM")
    x = rn(input_shape)
    H = args["hiddenSize"]
    if is_cell:
        hshape = (input_shape[0], H) if len(input_shape) == 2 else (H,)
    else:
        d = 2 if args.get("bidirectional") else 1
        lead = args.get("numLayers", 1) * d
        batched = len(input_shape) == 3
        b = (input_shape[0] if args.get("batchFirst") else input_shape[1]) if batched else None
        hshape = (lead, b, H) if batched else (lead, H)
    inputs = {"input": x}
    if with_hx:
        inputs["h0"] = rn(hshape) * 0.5
        if is_lstm:
            inputs["c0"] = rn(hshape) * 0.5
    for t in inputs.values():
        t.requires_grad_(True)
    state = {k: v.detach().clone() for k, v in mod.state_dict().items()}
    if is_cell:
        hx = None
        if with_hx:
            hx = (inputs["h0"], inputs["c0"]) if is_lstm else inputs["h0"]
        r = mod(x, hx)
        outputs = {"h": r[0], "c": r[1]} if is_lstm else {"h": r}
    else:
        hx = None
        if with_hx:
            hx = (inputs["h0"], inputs["c0"]) if is_lstm else inputs["h0"]
        out, hn = mod(x, hx)
        outputs = {"output": out, "hN": hn[0], "cN": hn[1]} if is_lstm else {"output": out, "hN": hn}
    grad_outputs = {k: torch.randn(v.shape) for k, v in outputs.items()}
    sum((v * grad_outputs[k]).sum() for k, v in outputs.items()).backward()
    return {
        "module": module, "case": label, "args": args, "mode": mode, "repr": repr(mod),
        "stateDict": state, "inputs": inputs, "outputs": outputs, "gradOutputs": grad_outputs,
        "grads": {k: v.grad for k, v in inputs.items()},
        "paramGrads": {k: p.grad for k, p in mod.named_parameters()},
    }


def gen_cases():
    cases = []
    base = {"inputSize": IN, "hiddenSize": HID}
    seq = (SEQ, BATCH, IN)
    families = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
    for module, extra in families:
        tag = "relu_" if extra.get("nonlinearity") == "relu" else ""
        a = {**base, **extra}
        cases.append(run_case(module, tag + "1layer", a, seq))
        cases.append(run_case(module, tag + "2layers", {**a, "numLayers": 2}, seq))
        cases.append(run_case(module, tag + "bidirectional", {**a, "bidirectional": True}, seq))
        cases.append(run_case(module, tag + "2layers_bidirectional_batchFirst",
                              {**a, "numLayers": 2, "bidirectional": True, "batchFirst": True}, (BATCH, SEQ, IN)))
        cases.append(run_case(module, tag + "batchFirst", {**a, "batchFirst": True}, (BATCH, SEQ, IN)))
        cases.append(run_case(module, tag + "nobias", {**a, "bias": False}, seq))
        cases.append(run_case(module, tag + "unbatched_2layers_bidirectional",
                              {**a, "numLayers": 2, "bidirectional": True}, (SEQ, IN)))
        cases.append(run_case(module, tag + "no_hx", a, seq, with_hx=False))
        # inter-layer dropout is off in eval mode, so PyTorch's output is deterministic
        cases.append(run_case(module, tag + "2layers_dropout_eval", {**a, "numLayers": 2, "dropout": 0.5}, seq, mode="eval"))
    for module in ("RNNCell", "LSTMCell", "GRUCell"):
        cases.append(run_case(module, "batched", base, (BATCH, IN)))
        cases.append(run_case(module, "unbatched", base, (IN,)))
        cases.append(run_case(module, "nobias_no_hx", {**base, "bias": False}, (BATCH, IN), with_hx=False))
    cases.append(run_case("RNNCell", "relu", {**base, "nonlinearity": "relu"}, (BATCH, IN)))
    return cases


def main():
    write_json("layers_recurrent.json", {"cases": gen_cases()})


if __name__ == "__main__":
    main()

# PyTorch as a peer of bench/suite.ts: `/usr/bin/python3 bench/suite_torch.py <gemm|mlp|cnn|transformer>` prints
# `@@RESULT {json}` (the seed workload is bench/seed_torch.py). One thread unless SUITE_TORCH_THREADS=all; the GEMM
# workload measures one thread, then all (torch.set_num_threads(os.cpu_count())) for the suite's all-threads rows.
# Sizes and the timing policy mirror bench/peers/common.ts.
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn

# SUITE_TORCH_THREADS=all: the suite's "PyTorch, all threads" column (training workloads)
ALL_THREADS = os.environ.get("SUITE_TORCH_THREADS") == "all"
torch.set_num_threads((os.cpu_count() or 1) if ALL_THREADS else 1)
torch.manual_seed(0)
BUDGET = float(os.environ.get("SUITE_BUDGET_MS", 3000)) / 1000
SLOW = float(os.environ.get("SUITE_SLOW_MS", 8000)) / 1000
CAP = float(os.environ.get("SUITE_PHASE_CAP_MS", 25000)) / 1000
now = time.perf_counter


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def time_windows(step, warmup, min_windows=3, max_windows=7):
    """As timeWindows in bench/peers/common.ts: warm-up, a one-step probe sizing the windows, then windows."""
    i = 0
    w0 = now()
    warm = 0
    while warm < max(1, warmup) and (warm == 0 or now() - w0 < BUDGET):
        step(i); i += 1; warm += 1
    cold = now() - w0
    if warm == 1 and cold > SLOW:
        return {"msPerStep": [cold * 1e3], "perWindow": 1, "warmupSteps": 0, "timedSteps": 1, "coldOnly": True}
    t0 = now(); step(i); i += 1
    one = now() - t0
    per = max(1, math.floor(BUDGET / max_windows / max(one, 1e-6)))
    ms = [one * 1e3] if per == 1 else []
    if per > 1:
        warm += 1
    start = now()
    while len(ms) < max_windows and (len(ms) < min_windows or now() - start < BUDGET) and not (len(ms) >= 1 and now() - w0 + per * one > CAP):
        t0 = now()
        for _ in range(per):
            step(i); i += 1
        ms.append((now() - t0) / per * 1e3)
    return {"msPerStep": ms, "perWindow": per, "warmupSteps": warm, "timedSteps": len(ms) * per}


def blas():
    cfg = torch.__config__.show()
    info = next((part.split("=", 1)[1] for part in cfg.replace(",", " ").split() if part.startswith("BLAS_INFO=")), "?")
    lib = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3") if info == "generic" else ""
    return info + (f" ({lib})" if lib else "")


def emit(result):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print("@@RESULT " + json.dumps({"peer": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas(), **result, **({"lastLoss": last_loss[0]} if last_loss[0] == last_loss[0] else {}), "maxRssMiB": rss}))


last_loss = [float("nan")]  # the last training loss, a sanity check that the peers train the same thing


def train_step(model, opt, loss_fn):
    opt.zero_grad()
    loss = loss_fn(model)
    loss.backward()
    opt.step()
    last_loss[0] = loss.item()
    return last_loss[0]


workload = sys.argv[1]
g = torch.Generator().manual_seed(1234)

if workload == "gemm":
    def rates():
        out = {}
        for n in [64, 128, 256, 512, 1024, 2048]:
            a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
            torch.mm(a, b)
            ms = []
            start = now()
            while len(ms) < 3 or (len(ms) < 30 and now() - start < min(BUDGET, 2.0)):
                t0 = now(); torch.mm(a, b); ms.append((now() - t0) * 1e3)
            out[n] = {"gflops": 2 * n ** 3 / (median(ms) * 1e6), "reps": len(ms)}
        return out
    one = rates()
    torch.set_num_threads(os.cpu_count() or 1)
    threads_all, all_ = torch.get_num_threads(), rates()
    torch.set_num_threads(1)
    emit({"gemm": one, "gemmAll": all_, "threadsAll": threads_all})
elif workload == "mlp":
    n, batch = 10000, 64
    x, y = torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    nb = n // batch
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def step(i):
        s = (i % nb) * batch
        train_step(model, opt, lambda m: crit(m(x[s:s + batch]), y[s:s + batch]))
    emit({"windows": time_windows(step, 5), "batch": batch, "rssBeforeMiB": rss_before})
elif workload == "cnn":
    n, batch = 1024, 64
    x, y = torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    nb = n // batch

    def step(i):
        s = (i % nb) * batch
        train_step(model, opt, lambda m: crit(m(x[s:s + batch]), y[s:s + batch]))
    emit({"windows": time_windows(step, 2), "batch": batch})
elif workload == "transformer":
    V, T, D, H, L, FF, B = 64, 64, 128, 4, 2, 512, 32

    class CharTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(V, D), nn.Embedding(T, D)
            self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(D, H, dim_feedforward=FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True) for _ in range(L)])
            self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, V)
            self.register_buffer("positions", torch.arange(T))
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(T))

        def forward(self, idx):
            h = self.tok(idx) + self.pos(self.positions)
            for b in self.blocks:
                h = b(h, src_mask=self.mask)
            return self.head(self.ln_f(h))

    model = CharTransformer()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    crit = nn.CrossEntropyLoss()
    data = [torch.randint(0, V, (B, T + 1), generator=g) for _ in range(4)]
    inputs, targets = [d[:, :T].contiguous() for d in data], [d[:, 1:].reshape(-1) for d in data]

    def train(i):
        k = i % 4
        train_step(model, opt, lambda m: crit(m(inputs[k]).reshape(B * T, V), targets[k]))
    tr = time_windows(train, 2)
    model.eval()

    def infer(i):
        with torch.no_grad():
            model(inputs[i % 4])
    emit({"train": tr, "infer": time_windows(infer, 2), "tokensPerStep": B * T})
else:
    sys.exit(f"[bench/suite_torch.py] unknown workload {workload!r}")

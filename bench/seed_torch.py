# The seed program in PyTorch (same sizes as examples/seed.ts), timed; prints JSON for bench/run.ts.
# Run: /usr/bin/python3 bench/seed_torch.py   (needs Debian's python3-torch)
import json
import sys
import time

import torch
import torch.nn as nn
import torch.optim as optim

torch.set_num_threads(1)
torch.manual_seed(0)
g = torch.Generator().manual_seed(2024)


def make(n):
    half = n // 2
    scale = torch.tensor([8.0, 5.0])
    a = torch.randn(half, 2, generator=g) * scale + torch.tensor([50.0, 30.0])
    b = torch.randn(half, 2, generator=g) * scale + torch.tensor([70.0, 45.0])
    return torch.cat([a, b]), torch.cat([torch.zeros(half, 1), torch.ones(half, 1)])


x, y = make(10000)
x = (x - x.mean(0)) / x.std(0, unbiased=False)
model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
opt = optim.Adam(model.parameters(), lr=0.001)
crit = nn.BCEWithLogitsLoss()
by_hand = len(sys.argv) > 1 and sys.argv[1] == "--by-hand"
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
t0 = time.perf_counter()
for epoch in range(10):
    running = 0.0
    if by_hand:
        perm = torch.randperm(10000)
        batches = ((x[perm[i:i + 16]], y[perm[i:i + 16]]) for i in range(0, 10000, 16))
    else:
        batches = loader
    for xb, yb in batches:
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
        running += loss.item()
print(json.dumps({"seconds": time.perf_counter() - t0, "loss": running / 625}))

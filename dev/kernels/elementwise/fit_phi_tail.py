# Fits the degree 4/5 rational in |x| for Φ(-|x|) e^(x²/2) used by the exact GELU kernels (vexact in elementwise.ts).
# Usage: python3 dev/kernels/elementwise/fit_phi_tail.py [num_degree den_degree max_x]   (numpy, scipy)
# Linearised least squares on the relative error (N - H D) / (H D_prev), iterated (Sanathanan-Koerner) with
# Lawson-style reweighting towards the minimax error; prints the float64 coefficients, lowest degree first.
import sys
import numpy as np
from scipy.special import erfcx

n, m, top = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])) if len(sys.argv) > 3 else (4, 5, 12.5)
a = np.linspace(0, top, 6000)
H = 0.5 * erfcx(a / np.sqrt(2))  # Φ(-a) e^(a²/2)
w, d_prev, best = np.ones_like(a), np.ones_like(a), None
for it in range(60):
    cols = [a**k for k in range(n + 1)] + [-H * a**k for k in range(1, m + 1)]
    M = np.stack(cols, 1) / (H * d_prev)[:, None] * w[:, None]
    sol, *_ = np.linalg.lstsq(M, w / d_prev, rcond=None)
    p, q = sol[: n + 1], np.concatenate([[1.0], sol[n + 1 :]])
    d_prev = np.polyval(q[::-1], a)
    err = np.polyval(p[::-1], a) / d_prev / H - 1
    if best is None or np.abs(err).max() < best[0]:
        best = (np.abs(err).max(), p.copy(), q.copy())
    if it > 5:
        w = w * np.abs(err) ** 0.5 + 1e-300
        w /= w.max()
e, p, q = best
print(f"max relative error {e:.3g} on [0, {top}] (float64 evaluation)")
print("numerator  ", ", ".join(repr(float(c)) for c in p))
print("denominator", ", ".join(repr(float(c)) for c in q))

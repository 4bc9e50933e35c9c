#!/usr/bin/python3
"""Independent Adafactor oracle for test/native/adafactor*.test.ts (numpy, float64).

Written from the equations of Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with
Sublinear Memory Cost" (Algorithms 4 and 5, section 7 for update clipping, section 8 for the
relative step size), not from any implementation:

  factored (matrix n x m):  R_t = b2 R_{t-1} + (1 - b2) (G^2 + e1) 1_m        (row SUMS)
                            C_t = b2 C_{t-1} + (1 - b2) 1_n^T (G^2 + e1)      (column SUMS)
                            V_t = R_t C_t / (1_n^T R_t)
  unfactored:               V_t = b2 V_{t-1} + (1 - b2) (G^2 + e1)
  U_t = G_t / sqrt(V_t);  U_t /= max(1, RMS(U_t) / d)
  rho_t = min(1e-2, 1/sqrt(t)) (relative step) or the given lr
  a_t = max(e2, RMS(X_{t-1})) rho_t (parameter scaling) or rho_t
  momentum (optional): M_t = b1 M_{t-1} + (1 - b1) a_t U_t, the step is M_t
  weight decay (decoupled, HF's convention): X_t = X_{t-1} - wd a_t X_{t-1} - step
  b2_t = 1 - t^-0.8

Tensors with more than two dims are factored over their two largest dims (the later one wins
ties for the largest), treating the others as batch dims; a tensor is factored only when the
second largest dim is >= min_dim. The paper uses sums; implementations use means, which give
the same V_t, so the test checks that equivalence too.

Input (argv[1], JSON): {"options": {...}, "params": [{"shape": [...], "data": [...]}],
"grads": [[step0 grads per param (flat list or null)], ...]}. Output (stdout, JSON):
{"params": [[flat values after each step] per step], "state": [...]}.
"""
import json
import math
import sys

import numpy as np


def factored_dims(shape, opts):
    if not opts.get("factored", True) or len(shape) < 2:
        return None
    order = sorted(range(len(shape)), key=lambda i: (shape[i], i))
    d0, d1 = order[-1], order[-2]
    if shape[d1] < opts.get("minDimSizeToFactor", 128):
        return None
    return d0, d1


def rms(x):
    return math.sqrt(float(np.mean(np.square(x)))) if x.size else 0.0


class State:
    def __init__(self, shape, opts):
        self.t = 0
        self.dims = factored_dims(shape, opts)
        self.R = None  # sums over d0 (the largest dim), kept as an array with d0 removed
        self.C = None  # sums over d1
        self.V = None
        self.M = None


def step(x, g, st, opts, lr):
    e1 = opts.get("eps1", 1e-30)
    e2 = opts.get("eps2", 1e-3)
    d = opts.get("clipThreshold", 1.0)
    c = opts.get("decayRate", 0.8)
    st.t += 1
    t = st.t
    b2 = 1.0 - t ** (-c)
    g2 = g * g + e1
    if st.dims is not None:
        d0, d1 = st.dims
        row = g2.sum(axis=d0)
        col = g2.sum(axis=d1)
        st.R = row if st.R is None else b2 * st.R + (1 - b2) * row
        st.C = col if st.C is None else b2 * st.C + (1 - b2) * col
        # V = R C / sum(R): R lacks d0, C lacks d1; sum(R) runs over d1 (shifted if d1 > d0).
        rd1 = d1 - 1 if d1 > d0 else d1
        total = np.expand_dims(st.R.sum(axis=rd1), axis=rd1)
        V = np.expand_dims(st.R / total, axis=d0) * np.expand_dims(st.C, axis=d1)
    else:
        st.V = g2 if st.V is None else b2 * st.V + (1 - b2) * g2
        V = st.V
    U = g / np.sqrt(V)
    if d is not None and d > 0 and math.isfinite(d):
        U = U / max(1.0, rms(U) / d)
    if lr is None:
        cap = 1e-6 * t if opts.get("warmupInit", False) else 1e-2
        rho = min(cap, 1.0 / math.sqrt(t))
    else:
        rho = lr
    a = max(e2, rms(x)) * rho if opts.get("scaleParameter", True) else rho
    upd = a * U
    b1 = opts.get("beta1")
    if b1 is not None:
        st.M = (1 - b1) * upd if st.M is None else b1 * st.M + (1 - b1) * upd
        upd = st.M
    wd = opts.get("weightDecay", 0.0)
    return x - wd * a * x - upd


def main():
    spec = json.load(open(sys.argv[1]))
    opts = spec["options"]
    xs = [np.array(p["data"], dtype=np.float64).reshape(p["shape"]) for p in spec["params"]]
    states = [State(x.shape, opts) for x in xs]
    lrs = spec.get("lrs")
    explicit = opts.get("lr")
    history = []
    for k, grads in enumerate(spec["grads"]):
        lr = lrs[k] if lrs is not None else explicit
        for i, g in enumerate(grads):
            if g is None:
                continue
            xs[i] = step(xs[i], np.array(g, dtype=np.float64).reshape(xs[i].shape), states[i], opts, lr)
        history.append([x.reshape(-1).tolist() for x in xs])
    out_state = []
    for x, st in zip(xs, states):
        n = x.shape
        s = {"step": st.t, "factoredDims": list(st.dims) if st.dims else None}
        if st.dims is not None and st.R is not None:
            d0, d1 = st.dims
            # Implementations keep means: divide the sums by the reduced dim's size.
            s["v_row"] = (st.R / n[d0]).reshape(-1).tolist()
            s["v_col"] = (st.C / n[d1]).reshape(-1).tolist()
        if st.V is not None:
            s["v"] = st.V.reshape(-1).tolist()
        if st.M is not None:
            s["m"] = st.M.reshape(-1).tolist()
        out_state.append(s)
    json.dump({"params": history, "state": out_state}, sys.stdout)


if __name__ == "__main__":
    main()

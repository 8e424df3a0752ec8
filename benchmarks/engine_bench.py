"""Engine benchmark: value and gradient per call, ours against numpy by hand (and torch eager).

Five float64 workloads (issue 2, item 10): logistic-regression loss on X 100000×50; a tanh MLP
10→64→64→1 on 10000 rows with MSE; sum(exp(−a·x)·sin(b·x) + c·x²) over 1e6 values (gradient in
a, b, c); the NIST Thurber rational model on its 37 points (7 scalar parameters); a 2000-op chain
on a 10-vector. For each: the numpy forward time, a hand-written numpy value-and-gradient, ours
through the graph (``ad.value_and_grad``, the transform built once and then called, as an
optimizer calls it) and through a tape (``ad.record``, recorded once and then replayed), and
torch eager when it is importable (it is not a dependency). Columns:

* ratio = value-and-gradient time ÷ numpy forward time (the cheap-gradient ratio);
* ÷hand = ours ÷ the hand-written numpy gradient;
* µs/op = our value-and-gradient time ÷ the number of recorded operations;
* ÷torch = ours ÷ torch eager (value and gradient, same formulas).

Every figure is the best (or with --median, the median) of many calls timed with
time.perf_counter, the variants taking turns in blocks of calls (about 5 ms, at least two calls;
the first call of each block warms the caches and is not counted); other processes share this
2-core machine, so the best is the stable statistic. Each row also checks that our gradient
matches the hand-written one and that the tape's is bit-identical to the graph's.

Run: python benchmarks/engine_bench.py [--only NAME ...] [--quick] [--median] [--threads N] [--phases]

``--phases`` splits the ordinary path of Thurber and the chain into recording the graph (with the
list of what f makes, as the transforms record), flattening it (``flatten_made``: a walk of that
list), pulling back and the whole ``value_and_grad``, per operation in CPU time of this thread,
with the cycle collector paused from recording to the end of the sweep as ``value_and_grad``
pauses it: where to look first when the µs/op column moves.

Side by side with torch eager (never a dependency of the project): make a separate venv for the
yardstick, ``python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
threadpoolctl``, and run this file with that venv's python from the repository root; it imports
the workbench from the checkout. The ÷torch column is then filled in. Other engineers' jobs share
this machine: compare the columns of one run, never figures from two runs.

The first line names numpy, the BLAS kernel (through threadpoolctl, when installed) and torch.
Where OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (older OpenBLAS builds need them on some
processors), they slow a current numpy: unset both for this command alone to measure it,
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/engine_bench.py``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench import engine as ad  # noqa: E402

try:
    import torch
except ImportError:   # torch is only a yardstick here
    torch = None


@dataclass
class Workload:
    name: str
    forward: Callable[[], object]                 # numpy, value only
    by_hand: Callable[[], tuple]                  # numpy, (value, gradients)
    graph: Callable[[], tuple]                    # ours, ad.value_and_grad (the transform built once)
    tape: Callable[[], tuple]                     # ours, a recorded tape
    n_ops: int                                    # operations recorded per call
    torch: Callable[[], object] | None = None
    big: bool = False                             # one of the three large workloads
    loss: Callable | None = None                  # ours, for --phases: the function and its arguments
    args: tuple = ()


def time_round_robin(fns: dict[str, Callable], budget: float, min_rounds: int = 5,
                     block_seconds: float = 5e-3) -> dict[str, list[float]]:
    """Wall time of each call of each function, the functions taking turns in blocks, until
    ``budget`` seconds and ``min_rounds`` blocks each.

    Taking turns means a burst of load from another process hits every variant alike. A turn is a
    block of calls lasting about ``block_seconds`` (at least two calls), and each call in it is
    timed except the first, which warms the caches up again: an optimizer calls its gradient back
    to back, and one torch call evicts enough to make the next numpy call on 37 values 2.2 times
    slower (8 → 19 µs measured). Calls taken one at a time in turn would time that refill.
    """
    sizes = {}
    for name, fn in fns.items():
        fn()   # warm up: caches, lazy imports, BLAS threads
        begin = time.perf_counter()
        fn()
        sizes[name] = 1 + max(1, int(block_seconds / max(time.perf_counter() - begin, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    rounds = 0
    while rounds < min_rounds or time.perf_counter() - start < budget:
        rounds += 1
        for name, fn in fns.items():
            fn()
            record = times[name].append
            for _ in range(sizes[name] - 1):
                begin = time.perf_counter()
                fn()
                record(time.perf_counter() - begin)
    return times


def _torch_params(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def _torch_call(loss_of, *arrays):
    def run():
        params = _torch_params(*arrays)
        loss = loss_of(*params)
        loss.backward()
        return loss.item(), [p.grad for p in params]
    return run


def _stable_sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def logistic(rng) -> Workload:
    n, d = 100_000, 50
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < _stable_sigmoid(X @ rng.standard_normal(d))).astype(float)
    w = 0.1 * rng.standard_normal(d)

    def forward(w):
        z = X @ w
        return np.mean(np.logaddexp(0.0, z) - y * z)

    def by_hand(w):
        z = X @ w
        return np.mean(np.logaddexp(0.0, z) - y * z), X.T @ ((_stable_sigmoid(z) - y) / n)

    def loss(w):
        z = X @ w
        return ad.mean(ad.softplus(z) - y * z)
    tape = ad.record(loss, w)
    torch_run = None
    if torch is not None:
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        def torch_loss(tw):
            z = tX @ tw
            return torch.mean(torch.nn.functional.softplus(z) - ty * z)
        torch_run = _torch_call(torch_loss, w)
    return Workload("logistic 1e5x50", lambda: forward(w), lambda: by_hand(w),
                    partial(ad.value_and_grad(loss), w), lambda: tape.value_and_grad(w), len(tape),
                    torch_run, big=True)


def mlp(rng) -> Workload:
    n = 10_000
    X, Y = rng.standard_normal((n, 10)), rng.standard_normal((n, 1))
    shapes = [(10, 64), (64,), (64, 64), (64,), (64, 1), (1,)]
    params = [rng.standard_normal(s) / np.sqrt(s[0]) for s in shapes]

    def forward(W1, b1, W2, b2, W3, b3):
        h2 = np.tanh(np.tanh(X @ W1 + b1) @ W2 + b2)
        r = h2 @ W3 + b3 - Y
        return np.mean(r * r)

    def by_hand(W1, b1, W2, b2, W3, b3):
        h1 = np.tanh(X @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        r = h2 @ W3 + b3 - Y
        go = r * (2.0 / n)
        ga2 = (go @ W3.T) * (1.0 - h2 * h2)
        ga1 = (ga2 @ W2.T) * (1.0 - h1 * h1)
        grads = (X.T @ ga1, ga1.sum(0), h1.T @ ga2, ga2.sum(0), h2.T @ go, go.sum(0))
        return np.mean(r * r), grads

    def loss(W1, b1, W2, b2, W3, b3):
        h2 = ad.tanh(ad.tanh(X @ W1 + b1) @ W2 + b2)
        r = h2 @ W3 + b3 - Y
        return ad.mean(r * r)
    nums = tuple(range(6))
    tape = ad.record(loss, *params, argnums=nums)
    torch_run = None
    if torch is not None:
        tX, tY = torch.from_numpy(X), torch.from_numpy(Y)

        def torch_loss(W1, b1, W2, b2, W3, b3):
            r = torch.tanh(torch.tanh(tX @ W1 + b1) @ W2 + b2) @ W3 + b3 - tY
            return torch.mean(r * r)
        torch_run = _torch_call(torch_loss, *params)
    return Workload("MLP 10-64-64-1 x1e4", lambda: forward(*params), lambda: by_hand(*params),
                    partial(ad.value_and_grad(loss, nums), *params),
                    lambda: tape.value_and_grad(*params), len(tape), torch_run, big=True)


def elementwise(rng) -> Workload:
    x = 3.0 * rng.random(1_000_000)
    abc = (0.5, 2.0, 0.1)

    def forward(a, b, c):
        return np.sum(np.exp(-a * x) * np.sin(b * x) + c * x ** 2)

    def by_hand(a, b, c):
        e, bx, x2 = np.exp(-a * x), b * x, x * x
        s = np.sin(bx)
        es = e * s
        value = np.sum(es + c * x2)
        return value, (-np.sum(x * es), np.sum(x * e * np.cos(bx)), np.sum(x2))

    def loss(a, b, c):
        return ad.sum(ad.exp(-a * x) * ad.sin(b * x) + c * x ** 2)
    nums = (0, 1, 2)
    tape = ad.record(loss, *abc, argnums=nums)
    torch_run = None
    if torch is not None:
        tx = torch.from_numpy(x)
        torch_run = _torch_call(lambda a, b, c: torch.sum(torch.exp(-a * tx) * torch.sin(b * tx) + c * tx ** 2), *abc)
    return Workload("elementwise 1e6", lambda: forward(*abc), lambda: by_hand(*abc),
                    partial(ad.value_and_grad(loss, nums), *abc), lambda: tape.value_and_grad(*abc),
                    len(tape), torch_run, big=True)


def thurber(rng) -> Workload:
    table = np.loadtxt(ROOT / "data" / "nist" / "Thurber.csv", delimiter=",", skiprows=1)
    x, y = table[:, 0], table[:, 1]
    x2, x3 = x * x, x * x * x   # data columns: the powers of x are computed once, as by hand
    b = (1288.0, 1491.0, 583.0, 75.0, 0.966, 0.398, 0.0497)   # near the certified values

    def forward(b1, b2, b3, b4, b5, b6, b7):
        r = (b1 + b2 * x + b3 * x2 + b4 * x3) / (1.0 + b5 * x + b6 * x2 + b7 * x3) - y
        return np.sum(r * r)

    def by_hand(b1, b2, b3, b4, b5, b6, b7):
        num, den = b1 + b2 * x + b3 * x2 + b4 * x3, 1.0 + b5 * x + b6 * x2 + b7 * x3
        q = num / den
        r = q - y
        g_num = 2.0 * r / den
        g_den = -g_num * q
        grads = (g_num.sum(), (g_num * x).sum(), (g_num * x2).sum(), (g_num * x3).sum(),
                 (g_den * x).sum(), (g_den * x2).sum(), (g_den * x3).sum())
        return np.sum(r * r), grads

    def loss(b1, b2, b3, b4, b5, b6, b7):
        r = (b1 + b2 * x + b3 * x2 + b4 * x3) / (1.0 + b5 * x + b6 * x2 + b7 * x3) - y
        return ad.sum(r * r)
    nums = tuple(range(7))
    tape = ad.record(loss, *b, argnums=nums)
    torch_run = None
    if torch is not None:
        tx, tx2, tx3, ty = (torch.from_numpy(a) for a in (x, x2, x3, y))

        def torch_loss(b1, b2, b3, b4, b5, b6, b7):
            r = (b1 + b2 * tx + b3 * tx2 + b4 * tx3) / (1.0 + b5 * tx + b6 * tx2 + b7 * tx3) - ty
            return torch.sum(r * r)
        torch_run = _torch_call(torch_loss, *b)
    return Workload("Thurber (NIST, 37 pts)", lambda: forward(*b), lambda: by_hand(*b),
                    partial(ad.value_and_grad(loss, nums), *b), lambda: tape.value_and_grad(*b),
                    len(tape), torch_run, loss=loss, args=b)


CHAIN_ROUNDS = 500   # four operations per round: 2000 in all, plus the final sum


def chain(rng) -> Workload:
    x = rng.standard_normal(10)

    def forward(x):
        y = x
        for _ in range(CHAIN_ROUNDS):
            y = np.tanh(np.sin(y * 0.9) + x)
        return np.sum(y)

    def by_hand(x):
        ys, y = [], x
        for _ in range(CHAIN_ROUNDS):
            s = np.sin(y * 0.9)
            ys.append((y, np.tanh(s + x)))
            y = ys[-1][1]
        g, gx = np.ones_like(x), np.zeros_like(x)
        for y_in, y_out in reversed(ys):
            g = g * (1.0 - y_out * y_out)
            gx = gx + g
            g = g * np.cos(y_in * 0.9) * 0.9
        return np.sum(y), gx + g

    def loss(x):
        y = x
        for _ in range(CHAIN_ROUNDS):
            y = ad.tanh(ad.sin(y * 0.9) + x)
        return ad.sum(y)
    tape = ad.record(loss, x)
    torch_run = None
    if torch is not None:
        def torch_loss(tx):
            y = tx
            for _ in range(CHAIN_ROUNDS):
                y = torch.tanh(torch.sin(y * 0.9) + tx)
            return torch.sum(y)
        torch_run = _torch_call(torch_loss, x)
    return Workload("chain 2000 ops, 10-vec", lambda: forward(x), lambda: by_hand(x),
                    partial(ad.value_and_grad(loss), x), lambda: tape.value_and_grad(x), len(tape),
                    torch_run, loss=loss, args=(x,))


WORKLOADS = {"logistic": logistic, "mlp": mlp, "elementwise": elementwise, "thurber": thurber,
             "chain": chain}


def _as_list(grads) -> list[np.ndarray]:
    if isinstance(grads, (tuple, list)):
        return [np.asarray(g, dtype=float) for g in grads]
    return [np.asarray(grads, dtype=float)]


def check(w: Workload) -> str:
    """'ok' when our gradient matches the hand-written one and the tape's equals the graph's."""
    value, hand = w.by_hand()
    graph_value, graph = w.graph()
    tape_value, taped = w.tape()
    close = np.isclose(graph_value, value, rtol=1e-10) and all(
        np.allclose(a, b, rtol=1e-8, atol=1e-10 * np.abs(b).max()) for a, b in zip(_as_list(graph), _as_list(hand)))
    same = graph_value == tape_value and all(np.array_equal(a, b) for a, b in zip(_as_list(graph), _as_list(taped)))
    return ("ok" if close else "GRAD DIFFERS") + ("" if same else ", TAPE DIFFERS")


def measure(w: Workload, quick: bool, statistic: Callable) -> dict:
    budget = (1.5 if quick else 8.0) if w.big else (0.5 if quick else 3.0)
    fns = {"forward": w.forward, "hand": w.by_hand, "graph": w.graph, "tape": w.tape}
    if w.torch is not None:
        fns["torch"] = w.torch
    row = {name: statistic(times) for name, times in time_round_robin(fns, budget).items()}
    row.setdefault("torch", None)
    return row


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else (f"{seconds * 1e3:8.2f}" if seconds >= 1e-3 else f"{seconds * 1e6:6.0f}µs")


def print_table(results: list[tuple[Workload, dict, str]], statistic: str) -> None:
    head = (f"{'workload':24s} {'ops':>5s} {'np fwd':>9s} {'by hand':>9s} {'graph':>9s} {'tape':>9s} "
            f"{'torch':>9s} | {'ratio h/g/t':>15s} | {'÷hand g/t':>11s} | {'µs/op g/t':>11s} | {'÷torch g/t':>11s} | check")
    print(head)
    print("-" * len(head))
    for w, r, verdict in results:
        f = r["forward"]
        ratios = f"{r['hand'] / f:4.1f}/{r['graph'] / f:4.1f}/{r['tape'] / f:4.1f}"
        vs_hand = f"{r['graph'] / r['hand']:5.2f}/{r['tape'] / r['hand']:5.2f}"
        per_op = f"{r['graph'] / w.n_ops * 1e6:5.2f}/{r['tape'] / w.n_ops * 1e6:5.2f}"
        vs_torch = "-" if r["torch"] is None else f"{r['graph'] / r['torch']:5.2f}/{r['tape'] / r['torch']:5.2f}"
        print(f"{w.name:24s} {w.n_ops:5d} {_ms(f):>9s} {_ms(r['hand']):>9s} {_ms(r['graph']):>9s} "
              f"{_ms(r['tape']):>9s} {_ms(r['torch']):>9s} | {ratios:>15s} | {vs_hand:>11s} | "
              f"{per_op:>11s} | {vs_torch:>11s} | {verdict}")
    print(f"times: {statistic} value-and-gradient call (np fwd: value only); ms unless marked µs. "
          "g = graph (ad.value_and_grad), t = tape (ad.record), h = by hand.")
    print("targets: ratio ≤ 3 and ÷hand ≤ 1.1 on the three large workloads; µs/op ≤ 3 on Thurber and the chain.")


def phase_costs(w: Workload, rounds: int) -> dict[str, float]:
    """Per operation, in µs of this thread's CPU time (best of ``rounds``, so other jobs' load
    counts less than in wall time): recording the graph, flattening it, pulling back, and the
    whole ``value_and_grad`` (those three, stand-ins, seed, checks and owned gradients)."""
    from workbench.engine.mode import MODE
    from workbench.engine.pullback import flatten_made, pullback
    from workbench.engine.tensor import leaf

    clock = time.thread_time_ns
    best = {"record": float("inf"), "flatten": float("inf"), "pullback": float("inf"), "total": float("inf")}
    nums = tuple(range(len(w.args)))
    value_and_grad = ad.value_and_grad(w.loss, nums)
    collecting = gc.isenabled()
    for _ in range(rounds):
        leaves = [leaf(np.array(a, dtype=float), True) for a in w.args]
        made = [None] * len(leaves)   # as value_and_grad records: the stand-ins' slots, then what f makes
        for slot, stand in enumerate(leaves):
            stand._rec, stand._slot = made, slot
        gc.disable()   # as value_and_grad does, from recording to the end of the sweep
        start = clock()
        MODE.made = made
        try:
            out = w.loss(*leaves)
        finally:
            MODE.made = None
        recorded = clock()
        steps, n_slots = flatten_made(out, made, release=True)
        flattened = clock()
        adjoints = [None] * n_slots
        adjoints[out._slot] = np.array(1.0)
        pullback(steps, adjoints, leaves=len(leaves))   # the stand-ins' shares may wait, as in value_and_grad
        pulled = clock()
        if collecting:
            gc.enable()
        value_and_grad(*w.args)
        done = clock()
        for name, took in (("record", recorded - start), ("flatten", flattened - recorded),
                           ("pullback", pulled - flattened), ("total", done - pulled)):
            best[name] = min(best[name], took / 1e3 / w.n_ops)
    return best


def print_phases(workloads: list[Workload], quick: bool) -> None:
    print("phases of the ordinary path, µs of CPU per operation (best of many): recording, flatten, "
          "pullback, and value_and_grad (all three and its own bookkeeping)")
    for w in workloads:
        if w.loss is None:
            continue
        rounds = max(5, int((0.5 if quick else 2.0) / max(w.n_ops * 5e-6, 1e-6)))
        c = phase_costs(w, rounds)
        print(f"  {w.name:24s} record {c['record']:5.2f}  flatten {c['flatten']:5.2f}  pullback "
              f"{c['pullback']:5.2f}  value_and_grad {c['total']:5.2f}")


def describe_machine() -> str:
    blas = os.environ.get("OPENBLAS_CORETYPE")
    parts = [f"numpy {np.__version__}", f"python {sys.version.split()[0]}", f"{os.cpu_count()} cores"]
    parts.append(f"OPENBLAS_CORETYPE={blas}" if blas else "OPENBLAS_CORETYPE unset")
    try:
        from threadpoolctl import threadpool_info
        parts += [f"{i.get('internal_api')} {i.get('architecture')} x{i.get('num_threads')}" for i in threadpool_info()
                  if i.get("user_api") == "blas"]
    except ImportError:
        pass
    parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch is not None else "no torch")
    return ", ".join(parts)


def limit_threads(n: int) -> None:
    """On a shared 2-core machine one thread per library gives steadier timings."""
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:
        print(f"threadpoolctl is not installed: BLAS threads unchanged (OPENBLAS_NUM_THREADS={n} does it)")
    if torch is not None:
        torch.set_num_threads(n)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(WORKLOADS), help="run only these workloads")
    parser.add_argument("--quick", action="store_true", help="shorter timing budgets (noisier)")
    parser.add_argument("--median", action="store_true", help="report medians instead of the best times")
    parser.add_argument("--threads", type=int, help="BLAS and torch threads (BLAS through threadpoolctl)")
    parser.add_argument("--phases", action="store_true",
                        help="also split the ordinary path's cost per operation into its phases")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    statistic = statistics.median if args.median else min
    print(describe_machine())
    results = []
    for name in args.only or list(WORKLOADS):
        workload = WORKLOADS[name](np.random.default_rng(0))
        results.append((workload, measure(workload, args.quick, statistic), check(workload)))
    print_table(results, 'median' if args.median else 'best')
    if args.phases:
        print_phases([w for w, _, _ in results], args.quick)


if __name__ == "__main__":
    main()

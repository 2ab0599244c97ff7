#!/usr/bin/env python3
"""Run Graft's benchmark and the same workloads in PyTorch (CPU), and write Benchmarks/RESULTS.md.

Optional: not part of the tests. Needs PyTorch; see Benchmarks/README.md for the venv.

    .venv/bin/python Benchmarks/compare-pytorch.py                 # runs graft-bench, then PyTorch
    .venv/bin/python Benchmarks/compare-pytorch.py --graft-json F  # reuse a graft-bench --json file

The one command that produces the final Benchmarks/RESULTS.md (issue 12's acceptance: one run, 2 threads,
on a quiet machine; any Python with torch, e.g. the shared /work/venv/bin/python), from the repository root:

    python3 Benchmarks/compare-pytorch.py --threads 2

It builds and runs `swift run -c release graft-bench --json Benchmarks/results/graft.json --threads 2`
(all sizes 1e5/1e6/1e7, all layouts, the C floors, per-tensor overhead, snapshots, training steps), then
PyTorch on the same tensors, and writes RESULTS.md with the issue-12 targets table, the floors, and
Benchmarks/results/{graft,pytorch}.json. Check the floors first with
`swift run -c release graft-bench --check-floors`.

The optimizer workloads run on exactly the tensors graft-bench used (the JSON lists every layout's
paths, shapes and anchors) with the same hyperparameters and fixed gradients; each step is timed on
its own with warm-up and rounds like graft-bench, and the tables report medians. Ratios are
"PyTorch time / Graft time": above 1 Graft is faster.

Paired runs (--pairs K, default 3; 0 turns them off). This VM's memory speed changes by up to 2x within
seconds, so a graft-bench figure and a PyTorch figure taken minutes apart compare two machines. For the
pairs in PAIRED_COMPARISONS (Adam against torch.optim.Adam(fused=True) at 1e6 and 1e7, mixed layout; Graft
without its gradient scan against it; Graft against fused Adam after the same read-only scan) the
script then alternates K times between a graft-bench run limited to that workload and size
(`--filter optimizer/adam/mixed --sizes S --layouts mixed --no-bandwidth --threads N`) and PyTorch's step on
that run's layout, right after it; RESULTS.md reports every pair and the median of the per-pair ratios
Graft ns/p / PyTorch ns/p, and the targets "Adam vs PyTorch fused Adam" use those medians. The pairs are
kept in pytorch.json ("paired").

graft-bench is run as `swift run -c release graft-bench` from the repository root; --graft-bench CMD (or
the GRAFT_BENCH environment variable) runs another command instead, e.g. a graft-bench binary built
elsewhere.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_GRAFT_BENCH = "swift run -c release graft-bench"


class PairedComparison(NamedTuple):
    """A Graft workload and the PyTorch workload measured against it in alternating runs (--pairs)."""
    graft: str       # graft-bench's workload name (its ids: optimizer/<graft>/<layout>/<size>)
    torch: str       # a name from optimizer_workloads() below
    sizes: tuple     # nominal sizes, each paired on its own
    layout: str = "mixed"


# The paired comparisons, one line each (a Graft workload graft-bench does not list is skipped with a message),
# e.g. PairedComparison("adam.unchecked", "torch.adam.fused", (1_000_000, 10_000_000)).
PAIRED_COMPARISONS = [
    PairedComparison("adam", "torch.adam.fused", (1_000_000, 10_000_000)),
    # The same work as PyTorch's step: Graft's default scans every gradient for NaN / Inf first
    # (one more read of g), which PyTorch does not; NonFinitePolicy.unchecked skips that scan.
    PairedComparison("adam.unchecked", "torch.adam.fused", (1_000_000, 10_000_000)),
    # ... and the other way round: PyTorch's fused Adam after a read-only scan of every gradient.
    PairedComparison("adam", "torch.adam.fused+check", (1_000_000, 10_000_000)),
]
# The paired comparison whose medians are issue 12's "Adam vs PyTorch fused Adam" targets.
ADAM_TARGET_PAIR = ("adam", "torch.adam.fused", "mixed")


def build_parser():
    """The command line (defined before PyTorch is imported, so --help works without it)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graft-json", help="use this graft-bench --json output instead of running graft-bench")
    ap.add_argument("--graft-args", default="", help="extra arguments for graft-bench (e.g. '--quick')")
    ap.add_argument("--threads", type=int, default=None, help="threads for both (default: graft-bench's default, all cores)")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--json-dir", default=os.path.join(HERE, "results"),
                    help="where to keep graft.json and pytorch.json (the raw data behind RESULTS.md)")
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--note", action="append", default=[], help="a sentence for RESULTS.md's run section (repeatable)")
    ap.add_argument("--pytorch-json", help="re-render RESULTS.md from a saved pytorch.json (with --graft-json) without running anything")
    ap.add_argument("--pairs", type=int, default=3, metavar="K",
                    help="alternate K graft-bench runs with K PyTorch runs for each paired comparison (Adam vs PyTorch fused "
                         "Adam, 1e6 and 1e7 mixed) and report the median of the per-pair ratios (default 3; 0: no pairs)")
    ap.add_argument("--graft-bench", default=os.environ.get("GRAFT_BENCH", DEFAULT_GRAFT_BENCH), metavar="CMD",
                    help="the command that runs graft-bench, from the repository root (default: $GRAFT_BENCH, else "
                         f"'{DEFAULT_GRAFT_BENCH}')")
    return ap


if __name__ == "__main__" and {"-h", "--help"} & set(sys.argv[1:]):
    build_parser().print_help()
    sys.exit(0)

import torch  # noqa: E402  (after --help, which must work without PyTorch)


# --------------------------------------------------------------------------- timing

def measure(step, round_seconds, rounds, warmup_seconds, warmup_iterations=3):
    """Warm-up, then `rounds` rounds of an adaptive number of iterations; every call timed."""
    start = time.perf_counter_ns()
    warm = []
    while len(warm) < warmup_iterations or (time.perf_counter_ns() - start) < warmup_seconds * 1e9:
        t0 = time.perf_counter_ns()
        step()
        warm.append(time.perf_counter_ns() - t0)
    tail = sorted(warm[len(warm) // 2:])
    estimate = max(1.0, tail[len(tail) // 2])
    per_round = max(1, min(100_000, int(round_seconds * 1e9 / estimate)))
    samples = []
    for _ in range(rounds):
        for _ in range(per_round):
            t0 = time.perf_counter_ns()
            step()
            samples.append(time.perf_counter_ns() - t0)
    return stats(samples, rounds, per_round)


def stats(samples, rounds, per_round):
    s = sorted(samples)

    def q(p):
        pos = p * (len(s) - 1)
        lo = int(math.floor(pos))
        hi = min(len(s) - 1, lo + 1)
        f = pos - lo
        return s[lo] * (1 - f) + s[hi] * f

    return {"p0": s[0], "p50": q(0.5), "p90": q(0.9), "p100": s[-1], "mean": sum(s) / len(s),
            "samples": len(s), "rounds": rounds, "iterationsPerRound": per_round}


# --------------------------------------------------------------------------- data

def layout_data(layout, seed):
    """Values, 4 conflicting objective gradients (±0.5·shared + noise) and anchors θ + 0.01·e,
    uniform in [-1, 1): the same recipe as graft-bench (not the same random numbers)."""
    g = torch.Generator().manual_seed(seed)

    def u(shape):
        return torch.rand(shape, generator=g) * 2 - 1

    values, anchors, grads = [], [], [[] for _ in range(4)]
    for t in layout["tensors"]:
        shape = t["shape"]
        v = u(shape)
        values.append(v)
        anchors.append(v + 0.01 * u(shape) if t["anchored"] else None)
        shared = u(shape)
        for k in range(4):
            grads[k].append((0.5 if k % 2 == 0 else -0.5) * shared + u(shape))
    return values, anchors, grads


def make_params(values, grads0):
    ps = []
    for v, g in zip(values, grads0):
        p = torch.nn.Parameter(v.clone())
        p.grad = g.clone()
        ps.append(p)
    return ps


# --------------------------------------------------------------------------- DiGraP reference

class DiGraPAdam(torch.optim.Optimizer):
    """DiGraP as the authors' reference code runs it: a Python loop over tensors, each step
    computing the row-wise hypergradient, ω's Adam step, the projection of the raw gradient
    toward the anchor, then Adam with in-place tensor ops (ALGORITHMS.md, DiGraP)."""

    def __init__(self, params, anchors, lr=1e-3, mu=0.5, kappa=1.0, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
        self.anchors = anchors
        self.mu, self.kappa = mu, kappa

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for i, p in enumerate(group["params"]):
                g = p.grad
                state = self.state[p]
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                    state["omega"], state["om"], state["ov"] = 0.0, 0.0, 0.0
                    state["prev"] = torch.zeros_like(p) if self.anchors[i] is not None else None
                state["t"] += 1
                t = state["t"]
                a = self.anchors[i]
                if a is not None:
                    c = p - a
                    if t > 1:
                        if p.dim() >= 2:
                            h = torch.nn.functional.cosine_similarity(
                                g.reshape(g.shape[0], -1), state["prev"].reshape(g.shape[0], -1), dim=1, eps=1e-12).sum().item()
                        else:
                            h = torch.nn.functional.cosine_similarity(g.reshape(1, -1), state["prev"].reshape(1, -1), dim=1,
                                                                      eps=1e-12).sum().item()
                        state["om"] = 0.9 * state["om"] + 0.1 * h
                        state["ov"] = 0.999 * state["ov"] + 0.001 * h * h
                        mhat = state["om"] / (1 - 0.9 ** t)
                        vhat = state["ov"] / (1 - 0.999 ** t)
                        state["omega"] = min(max(state["omega"] - self.mu * mhat / (math.sqrt(vhat) + 1e-8), 0.0), self.kappa)
                    d = torch.dot(g.reshape(-1), c.reshape(-1))
                    cc = torch.dot(c.reshape(-1), c.reshape(-1))
                    state["prev"] = d / (cc + 1e-8) * c
                    if d.item() < 0 and state["omega"] > 0:
                        g = g - state["omega"] * (d / cc) * c
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                bc1 = 1 - b1 ** t
                bc2 = 1 - b2 ** t
                denom = (v.sqrt() / math.sqrt(bc2)).add_(group["eps"])
                p.addcdiv_(m, denom, value=-group["lr"] / bc1)


def pcgrad_global(params, objectives):
    """PCGrad over the concatenated gradients (the paper's reference style), fixed order."""
    flat = [torch.cat([g.reshape(-1) for g in obj]) for obj in objectives]
    norms = [torch.dot(f, f) for f in flat]
    total = torch.zeros_like(flat[0])
    for i, gi in enumerate(flat):
        gi = gi.clone()
        for j, gj in enumerate(flat):
            if j == i:
                continue
            dot = torch.dot(gi, gj)
            if dot < 0:
                gi -= dot / norms[j] * gj
        total += gi
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(total[offset:offset + n].view_as(p))
        offset += n


# --------------------------------------------------------------------------- workloads

def optimizer_workloads(layout, values, anchors, grads):
    """(name, graft workload it compares with, step closure factory)."""

    def adam(**kw):
        ps = make_params(values, grads[0])
        opt = torch.optim.Adam(ps, lr=1e-3, **kw)
        return lambda: opt.step()

    def adam_checked():
        ps = make_params(values, grads[0])
        opt = torch.optim.Adam(ps, lr=1e-3, fused=True)
        gs = [p.grad for p in ps]

        def step():
            # Graft's default work: check every gradient, then step only if all are finite. The
            # cheapest read-only scan PyTorch has is one fused pass of L2 norms (a sum of squares
            # can overflow on finite values, so it is a lower bound on a real check's cost);
            # GradScaler's _amp_foreach_non_finite_check_and_unscale_ and the inf-norm measured
            # 10-40x slower here.
            if bool(torch.stack(torch._foreach_norm(gs)).isfinite().all()):
                opt.step()
        return step

    def adamw(**kw):
        ps = make_params(values, grads[0])
        opt = torch.optim.AdamW(ps, lr=1e-3, weight_decay=1e-2, **kw)
        return lambda: opt.step()

    def sgd(momentum=0.0):
        ps = make_params(values, grads[0])
        opt = torch.optim.SGD(ps, lr=1e-2, momentum=momentum, foreach=True)
        return lambda: opt.step()

    def digrap():
        ps = make_params(values, grads[0])
        opt = DiGraPAdam(ps, anchors)
        return lambda: opt.step()

    def pcgrad(k):
        ps = make_params(values, grads[0])
        opt = torch.optim.Adam(ps, lr=1e-3, fused=True)
        objectives = grads[:k]

        def step():
            pcgrad_global(ps, objectives)
            opt.step()
        return step

    return [
        ("torch.adam.fused", "adam", lambda: adam(fused=True)),
        ("torch.adam.fused+check", "adam", adam_checked),
        ("torch.adam.foreach", "adam", lambda: adam(foreach=True)),
        ("torch.adam.forloop", "adam", lambda: adam(foreach=False)),
        ("torch.adamw.fused", "adamw", lambda: adamw(fused=True)),
        ("torch.sgd.foreach", "sgd", lambda: sgd()),
        ("torch.momentum.foreach", "momentum", lambda: sgd(0.9)),
        ("torch.digrap.reference", "digrap.learned.gradient", digrap),
        ("torch.pcgrad2.global+adam.fused", "pcgrad2.global", lambda: pcgrad(2)),
        ("torch.pcgrad4.global+adam.fused", "pcgrad4.global", lambda: pcgrad(4)),
    ]


class MLP(torch.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class ViTBlockWorkload(torch.nn.Module):
    """graft-bench's vit-block-w64-h4-t17: a pre-LN transformer block (width 64, 4 heads, MLP x2,
    tanh GELU) on [batch, 17, 64], mean pooling over tokens, Linear(64, 10)."""

    def __init__(self):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(64)
        self.attn = torch.nn.MultiheadAttention(64, 4, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(64)
        self.fc1 = torch.nn.Linear(64, 128)
        self.fc2 = torch.nn.Linear(128, 64)
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x):
        n = self.norm1(x)
        h = x + self.attn(n, n, n, need_weights=False)[0]
        h = h + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(h)), approximate="tanh"))
        return self.head(h.mean(1))


def cnn_small():
    """graft-bench's cnn-small-16x16-c16-32 (RobustFineTune's --backbone cnn)."""
    nn = torch.nn
    return nn.Sequential(nn.Unflatten(1, (1, 16, 16)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 10))


def training_model(name, batch):
    """The model, input and labels of a graft-bench training workload, by its model name."""
    if name.startswith("vit-block-"):
        return ViTBlockWorkload(), torch.randn(batch, 17, 64), 10
    if name.startswith("cnn-small-"):
        return cnn_small(), torch.rand(batch, 256), 10
    sizes = [int(x) for x in name.split("-")[1:]]
    return MLP(sizes), torch.rand(batch, sizes[0]), sizes[-1]


def training(name, batch, optimizer, policy):
    torch.manual_seed(42)
    model, x, classes = training_model(name, batch)
    y = torch.randint(0, classes, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    params = list(model.parameters())
    if optimizer == "digrap":
        anchors = [p.detach().clone() for p in params[:-2]] + [None, None]
        opt = DiGraPAdam(params, anchors)
    else:
        opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    phases = {"forward": [], "backward": [], "optimizerStep": [], "total": []}

    def step():
        t0 = time.perf_counter_ns()
        out = model(x)
        loss = loss_fn(out, y)
        t1 = time.perf_counter_ns()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter_ns()
        opt.step()
        t3 = time.perf_counter_ns()
        phases["forward"].append(t1 - t0)
        phases["backward"].append(t2 - t1)
        phases["optimizerStep"].append(t3 - t2)
        phases["total"].append(t3 - t0)

    total = measure(step, **policy)
    n = total["samples"]
    return {k: stats(v[-n:], total["rounds"], total["iterationsPerRound"]) for k, v in phases.items()}


# --------------------------------------------------------------------------- paired runs (Graft, PyTorch, Graft, ...)

def torch_workload_names():
    """The names optimizer_workloads() defines (its factories build nothing until called)."""
    return {name for name, _, _ in optimizer_workloads(None, [], [], [])}


def graft_bench_lists(command, pair):
    """The ids `graft-bench --list` gives for `pair`'s workload, layout and sizes (None: graft-bench failed)."""
    cmd = command + ["--list", "--filter", f"optimizer/{pair.graft}/{pair.layout}/", "--sizes",
                     ",".join(fmt_size(n) for n in pair.sizes), "--layouts", pair.layout]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    except OSError as e:
        print(f"paired: cannot run `{' '.join(cmd)}`: {e}", flush=True)
        return None
    if done.returncode != 0:
        print(f"paired: `{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}", flush=True)
        return None
    return {line.strip() for line in done.stdout.splitlines()}


def graft_pair_command(command, pair, size, threads, json_path):
    """graft-bench limited to one workload, layout and size, without the bandwidth probe."""
    return command + ["--filter", f"optimizer/{pair.graft}/{pair.layout}", "--sizes", fmt_size(size), "--layouts", pair.layout,
                      "--no-bandwidth", "--json", json_path, "--threads", str(threads)]


def run_graft_pair(command, pair, size, threads):
    """One graft-bench run of the pair's workload at `size`: (its JSON, the workload's row), or None on a failure."""
    with tempfile.TemporaryDirectory(prefix="graft-pair-") as tmp:
        path = os.path.join(tmp, "graft.json")
        cmd = graft_pair_command(command, pair, size, threads, path)
        try:
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        except OSError as e:
            print(f"paired: cannot run `{' '.join(cmd)}`: {e}", flush=True)
            return None
        if done.returncode != 0 or not os.path.exists(path):
            print(f"paired: `{' '.join(cmd)}` failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}", flush=True)
            return None
        with open(path) as f:
            doc = json.load(f)
    row = next((r for r in doc["optimizer"] if r["workload"] == pair.graft and r["kind"] == "graft"
                and r["layout"] == pair.layout and r["nominalSize"] == size), None)
    if row is None:
        print(f"paired: graft-bench wrote no {pair.graft} row for {pair.layout} {fmt_size(size)}", flush=True)
        return None
    return doc, row


def run_torch_pair(doc, pair, size, cache):
    """PyTorch's step of `pair.torch` on the layout of a paired graft-bench run, under that run's timing policy."""
    layout = next(l for l in doc["layouts"] if l["name"] == pair.layout and l["nominalSize"] == size)
    key = (pair.layout, size)
    if key not in cache:
        cache.clear()  # one layout's tensors at a time (10^7: a few hundred MB)
        cache[key] = layout_data(layout, seed=layout["nominalSize"] + len(layout["name"]))
    values, anchors, grads = cache[key]
    make = next(m for name, _, m in optimizer_workloads(layout, values, anchors, grads) if name == pair.torch)
    s = doc["settings"]
    step = make()
    with torch.no_grad():
        st = measure(step, round_seconds=s["roundSeconds"], rounds=s["rounds"], warmup_seconds=s["warmupSeconds"])
    del step
    n = sum(math.prod(t["shape"]) for t in layout["tensors"])
    return st, st["p50"] / n


def run_pairs(command, k, threads):
    """For every PAIRED_COMPARISONS entry and size: K times, a graft-bench run, then PyTorch right after it.
    Returns the list of pairs (one dict per graft-bench + PyTorch pair), in the order they ran."""
    runs = []
    if k <= 0:
        return runs
    torch_names = torch_workload_names()
    cache = {}
    for pair in PAIRED_COMPARISONS:
        if pair.torch not in torch_names:
            print(f"paired: skipping {pair.graft} vs {pair.torch}: no PyTorch workload {pair.torch}", flush=True)
            continue
        ids = graft_bench_lists(command, pair)
        if ids is None:
            print(f"paired: skipping {pair.graft} vs {pair.torch}: graft-bench --list failed", flush=True)
            continue
        for size in pair.sizes:
            wanted = f"optimizer/{pair.graft}/{pair.layout}/{fmt_size(size)}"
            if wanted not in ids:
                print(f"paired: skipping {wanted}: graft-bench has no such workload (not in its --list)", flush=True)
                continue
            for i in range(k):
                started = datetime.datetime.now(datetime.timezone.utc).isoformat()
                graft_run = run_graft_pair(command, pair, size, threads)
                if graft_run is None:
                    print(f"paired: skipping the rest of {wanted}", flush=True)
                    break
                doc, row = graft_run
                t_stats, t_ns = run_torch_pair(doc, pair, size, cache)
                g_ns = row["nsPerParameter"]["p50"]
                runs.append({
                    "graft": pair.graft, "torch": pair.torch, "layout": pair.layout, "nominalSize": size, "pair": i + 1,
                    "started": started, "graftNsPerParameter": g_ns, "graftTiming": row["timing"],
                    "graftFloorPaired": bool(row.get("floorPaired")), "graftFloorNsPerParameter": row.get("floorNsPerParameter"),
                    "torchNsPerParameter": t_ns, "torchTiming": t_stats, "ratio": g_ns / t_ns,
                    "graftLoadAverageAtEnd": doc["machine"].get("loadAverageAtEnd"), "loadAverageAfterTorch": list(os.getloadavg()),
                    "graftCommand": " ".join(graft_pair_command(command, pair, size, threads, "<tmp>.json"))})
                print(f"pair {i + 1}/{k} {fmt_size(size):>4} {pair.layout:<6} {pair.graft} {g_ns:.3f} ns/p, {pair.torch} "
                      f"{t_ns:.3f} ns/p: Graft / PyTorch {g_ns / t_ns:.3f}", flush=True)
    cache.clear()
    return runs


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def paired_summaries(runs):
    """Per (Graft workload, PyTorch workload, layout, size): the pairs' count, the median of the per-pair ratios
    Graft ns/p / PyTorch ns/p, and the medians of each side's ns/p."""
    groups = {}
    for r in runs:
        groups.setdefault((r["graft"], r["torch"], r["layout"], r["nominalSize"]), []).append(r)
    return [{"graft": k[0], "torch": k[1], "layout": k[2], "nominalSize": k[3], "pairs": len(rs),
             "ratios": [r["ratio"] for r in rs], "ratioMedian": median([r["ratio"] for r in rs]),
             "graftNsPerParameterMedian": median([r["graftNsPerParameter"] for r in rs]),
             "torchNsPerParameterMedian": median([r["torchNsPerParameter"] for r in rs])} for k, rs in groups.items()]


PAIRED_METHOD = ("Each pair is one graft-bench run limited to the workload and size (`--filter optimizer/<workload>/<layout> "
                 "--sizes S --layouts <layout> --no-bandwidth --threads N`: its floor's row, then the workload timed "
                 "interleaved with its floor), then PyTorch's step on that run's layout with the run's timing policy, "
                 "right after it; the pairs of one size run back to back. Ratio = Graft ns/p ÷ PyTorch ns/p (medians "
                 "of each run; below 1 Graft is faster); the summary is the median of the per-pair ratios.")


# --------------------------------------------------------------------------- report

def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def fmt_size(n):
    e = int(round(math.log10(n)))
    return f"1e{e}" if 10 ** e == n else str(n)


def md_table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write_results(path, graft, torch_rows, torch_training, torch_meta, commands, notes=(), paired_runs=()):
    m = graft["machine"]
    lines = []
    lines.append("# Graft benchmark results")
    lines.append("")
    lines.append("Generated by `Benchmarks/compare-pytorch.py` from one session: `graft-bench --json` first, then the same")
    lines.append("workloads in PyTorch on the same machine. Medians; ratios are PyTorch time ÷ Graft time (above 1: Graft faster).")
    lines.append("Regenerate with the commands at the end. Timings on this 2-core VM move with the load of other processes:")
    lines.append("the load averages below are part of the result. PyTorch suffers most from a busy machine: its OpenMP threads")
    lines.append("meet at a barrier after every parallel operation, and when another process holds one of the two cores the")
    lines.append("barrier waits for a scheduler slice (milliseconds), which is what MLP steps of 100 ms and more mean below.")
    lines.append("")
    lines.append("## Machine and run")
    lines.append("")
    lines.append(f"- CPU: {m['cpu']}, {m['cores']} cores{', AVX-512' if m['avx512'] else ''}, {m.get('lastLevelCache') or ''}; {m['system']}")
    lines.append(f"- OpenBLAS: `{m['openBLASConfiguration']}`, core **{m['openBLASCore']}**, matrix products on {m['openBLASThreads']} threads (Graft's pool, OpenBLAS single-threaded), "
                 f"OPENBLAS_CORETYPE={m.get('openBLASCoretypeEnvironment') or '(unset)'}")
    lines.append(f"- Graft: {m['graftThreads']} threads, FTZ/DAZ {'on' if m['flushesSubnormals'] else 'off'}, release build; "
                 f"graft-bench started {graft['started']}, {graft['elapsedSeconds']:.0f} s")
    lines.append(f"- PyTorch {torch_meta['version']} ({torch_meta['blas']}), {torch_meta['threads']} threads, CPU capability "
                 f"{torch_meta['capability']}; {torch_meta['elapsed']:.0f} s")
    la0, la1 = m["loadAverageAtStart"], m.get("loadAverageAtEnd") or []
    lines.append(f"- Load averages (1/5/15 min): graft-bench start {' '.join(f'{x:.2f}' for x in la0)}, end "
                 f"{' '.join(f'{x:.2f}' for x in la1)}; PyTorch end {' '.join(f'{x:.2f}' for x in torch_meta['loadAtEnd'])}")
    s = graft["settings"]
    lines.append(f"- Settings: {s['rounds']} rounds × ~{s['roundSeconds']} s per benchmark, gradients fixed between steps"
                 f"{', filters ' + ', '.join(s['filters']) if s['filters'] else ''}"
                 f"{', excluded ' + ', '.join(s.get('excludes') or []) if s.get('excludes') else ''}")
    for note in notes:
        lines.append(f"- Note: {note}")
    lines.append("")

    lines.append("## Memory bandwidth (same run)")
    lines.append("")
    rows = [[b["kernel"], b["threads"], f"{b['bestGBPerSecond']:.1f}", f"{b['medianGBPerSecond']:.1f}"] for b in graft["bandwidth"]]
    lines.append(md_table(["kernel", "threads", "best GB/s", "median GB/s"], rows))
    lines.append("")
    lines.append(f"Buffers: 3 × {s['bandwidthBufferMegabytes']} MB. Copy counts 8 B per element, triad and the in-place update "
                 "(`a = a + s·b`) 12 B (STREAM convention, no write-allocate). Copy and triad write a buffer they do not read, so "
                 "the memory moves 4 B per element more than counted; the update, like an optimizer step, moves what is counted, "
                 "which is why an in-place optimizer loop can exceed 1.0× triad.")
    lines.append("")

    graft_rows = {(r["workload"], r["layout"], r["nominalSize"]): r for r in graft["optimizer"]}

    lines.append("## Targets (issue 12)")
    lines.append("")
    lines.append("Ratios over the **C floors** (plain fused C loops of the same step, `Benchmarks/CGraftFloors`, "
                 f"{graft.get('floorVariant') or 'avx2+fma'} variant; see the floors table below), in the same graft-bench run; "
                 "the training step over GEMMs alone (sgemm probe) + the C Adam floor at the model's parameter shapes; the "
                 "snapshot's file over the raw state bytes; per-tensor overhead (issue 13) in ns per tensor per step. "
                 "A Graft row's floor is timed interleaved with it (\"paired\" in the reference: the same moments of this "
                 "machine, whose memory speed moves by up to 2× within seconds), not the floor row of the table below. "
                 "Adam against PyTorch's fused Adam: the median of alternating Graft and PyTorch runs (table below).")
    lines.append("")
    trows = []
    for t in graft.get("targets", []):
        value = f"{t['value']:.1f} ns" if t["target"].startswith("<") else f"{t['value']:.3f}×"
        trows.append([t["what"], t["graft"], t["reference"], value, t["target"],
                      "met" if t["met"] else f"missed by {(t['value'] / t['bound'] - 1) * 100:.0f} %"])
    # Issue 12: Adam faster than PyTorch's fused Adam at 1e6 and 1e7 (mixed): the paired medians when there are
    # pairs, else the main graft-bench run against the PyTorch run minutes after it.
    summaries = {(p["graft"], p["torch"], p["layout"], p["nominalSize"]): p for p in paired_summaries(paired_runs)}
    for size in (1_000_000, 10_000_000):
        p = summaries.get(ADAM_TARGET_PAIR + (size,))
        r = graft_rows.get(("adam", "mixed", size))
        u = summaries.get(("adam.unchecked", "torch.adam.fused", "mixed", size))
        tr = torch_rows.get(("torch.adam.fused", "mixed", size))
        if p:
            g, t, q = p["graftNsPerParameterMedian"], p["torchNsPerParameterMedian"], p["ratioMedian"]
            reference = f"{t:.3f} ns/p (torch fused; paired: median ratio of {p['pairs']} alternating runs, below)"
        elif r and tr:
            g, t = r["nsPerParameter"]["p50"], tr["nsPerParameter"]
            q = g / t
            reference = f"{t:.3f} ns/p (torch fused, separate runs minutes apart)"
        else:
            continue
        trows.append([f"Adam vs PyTorch fused Adam, {fmt_size(size)} mixed", f"{g:.3f} ns/p", reference,
                      f"{q:.3f}×", "< 1.00× (faster)", "met" if q < 1 else f"missed by {(q - 1) * 100:.0f} %"])
        if u:
            g, t, q = u["graftNsPerParameterMedian"], u["torchNsPerParameterMedian"], u["ratioMedian"]
            trows.append([f"Adam, `.unchecked` (no gradient scan, as PyTorch) vs PyTorch fused Adam, {fmt_size(size)} mixed",
                          f"{g:.3f} ns/p", f"{t:.3f} ns/p (torch fused; paired, {u['pairs']} alternating runs)",
                          f"{q:.3f}×", "< 1.00× (faster)", "met" if q < 1 else f"missed by {(q - 1) * 100:.0f} %"])
        c = summaries.get(("adam", "torch.adam.fused+check", "mixed", size))
        if c:
            g, t, q = c["graftNsPerParameterMedian"], c["torchNsPerParameterMedian"], c["ratioMedian"]
            trows.append([f"Adam (default, gradient scan) vs PyTorch fused Adam after the same scan, {fmt_size(size)} mixed",
                          f"{g:.3f} ns/p", f"{t:.3f} ns/p (torch `_foreach_norm` check + fused; paired, {c['pairs']} alternating runs)",
                          f"{q:.3f}×", "< 1.00× (faster)", "met" if q < 1 else f"missed by {(q - 1) * 100:.0f} %"])
    lines.append(md_table(["target", "Graft", "reference", "measured", "target", "status"], trows,
                          ["---", "---:", "---:", "---:", "---", "---"]))
    lines.append("")
    lines.extend(paired_section(paired_runs))
    mrows = []
    for tr in graft["training"]:
        key = (tr["model"], tr["batch"], tr["optimizer"])
        pt = torch_training.get(key)
        g = tr["total"]["p50"]
        base = (tr.get("gemmProbeNanoseconds") or 0) + (tr.get("optimizerFloorNanoseconds") or 0)
        mrows.append([f"{tr['model']} b{tr['batch']} {tr['optimizer']} ({tr['implementation']})", fmt_time(g),
                      fmt_time(tr["gemmProbeNanoseconds"]) if tr.get("gemmProbeNanoseconds") else "—",
                      fmt_time(tr["optimizerFloorNanoseconds"]) if tr.get("optimizerFloorNanoseconds") else "—",
                      f"{tr['ratioToGemmsPlusFloor']:.2f}×" if tr.get("ratioToGemmsPlusFloor") else "—",
                      fmt_time(pt["total"]["p50"]) if pt else "—", f"{pt['total']['p50'] / g:.2f}×" if pt else "—"])
    lines.append(md_table(["training step", "Graft", "GEMMs alone (probe)", "Adam C floor", "Graft ÷ (GEMMs + floor)", "PyTorch",
                           "PyTorch ÷ Graft"], mrows))
    lines.append("")
    missed = [r for r in trows if r[-1].startswith("missed")]
    if missed:
        lines.append("**Missed in this run:** " + "; ".join(f"{r[0]} ({r[-1]})" for r in missed) + ".")
        lines.append("")

    custom = [r for r in graft["optimizer"] if r["workload"] == "custom.noise-adam"]
    if custom:
        lines.append("**CustomTransform.** The example's `GradientNoise` chained with Adam and the learning rate "
                     "(`custom.noise-adam`):")
        lines.append("")
        rows = []
        for r in custom:
            a = graft_rows.get(("adam", r["layout"], r["nominalSize"]))
            fused = (r.get("telemetry") or {}).get("fused") == 1
            ns_c = r["nsPerParameter"]["p50"]
            rows.append([fmt_size(r["nominalSize"]), r["layout"], "yes" if fused else "**no**", f"{ns_c:.3f}",
                         f"{a['nsPerParameter']['p50']:.3f}" if a else "—", f"{ns_c / a['nsPerParameter']['p50']:.1f}×" if a else "—"])
        lines.append(md_table(["size", "layout", "fused (`isFused`)", "ns/p", "Graft Adam ns/p", "÷ Adam"], rows,
                              ["---:", "---", "---", "---:", "---:", "---:"]))
        lines.append("")

    floors = [r for r in graft["optimizer"] if r.get("kind") in ("floor", "swift-floor")]
    if floors:
        lines.append("## The floors")
        lines.append("")
        lines.append("`floor.*`: the C floors (one plain fused loop per pass, `-O2` as SwiftPM builds C, AVX2+FMA through "
                     "function multiversioning, two threads from Swift over contiguous runs of segments); `floor.swift-*`: the "
                     "Swift floors of the same loops. `graft-bench --check-floors` checks every C floor against Graft's step "
                     "and the Swift floors; `Benchmarks/floor-check` compares the C Adam floor with a plain `-O3 -march=native` loop.")
        lines.append("")
        rows = [[fmt_size(r["nominalSize"]), r["layout"], r["workload"], r["summary"], f"{r['nsPerParameter']['p50']:.3f}",
                 r["bytesPerParameter"], f"{r['gbPerSecond']:.1f}"] for r in floors]
        lines.append(md_table(["size", "layout", "floor", "what", "ns/p p50", "B/p", "GB/s"], rows,
                              ["---:", "---", "---", "---", "---:", "---:", "---:"]))
        lines.append("")
    if graft.get("perTensor"):
        lines.append("## Per-tensor overhead (Adam, tiny tensors)")
        lines.append("")
        rows = [[f"{p['tensors']} × [{p['elementsPerTensor']}]", fmt_time(p["timing"]["p50"]), f"{p['nsPerTensor']:.1f}",
                 f"{p['floorNsPerTensor']:.1f}"] for p in graft["perTensor"]]
        lines.append(md_table(["tensors", "step p50", "Graft ns/tensor", "C floor ns/tensor"], rows, ["---", "---:", "---:", "---:"]))
        lines.append("")
    if graft.get("snapshot"):
        lines.append("## Snapshots (Adam state, binary)")
        lines.append("")
        rows = [[f"{fmt_size(x['nominalSize'])} {x['layout']}", f"{x['rawStateBytes'] / 1e6:.1f} MB", f"{x['fileBytes'] / 1e6:.1f} MB",
                 f"{x['ratio']:.4f}", fmt_time(x["save"]["p50"]), fmt_time(x["load"]["p50"]), fmt_time(x["snapshot"]["p50"]),
                 fmt_time(x["write"]["p50"]), fmt_time(x["read"]["p50"]), fmt_time(x["restore"]["p50"])] for x in graft["snapshot"]]
        lines.append(md_table(["state", "raw", "file", "file ÷ raw", "save", "load", "snapshot()", "write(to:)", "read(from:)",
                               "restore"], rows, ["---"] + ["---:"] * 9))
        lines.append("")
        lines.append("save = `snapshot()` + `write(to:)` (which encodes and writes atomically); load = `OptimizerSnapshot.read(from:)` "
                     "(read, decode, verify) + `restore(_:)`.")
        lines.append("")

    lines.append("## Optimizer steps: Graft against PyTorch")
    lines.append("")
    lines.append("ns per parameter per step (median). PyTorch runs on tensors of the same shapes with the same hyperparameters;")
    lines.append("`torch.digrap.reference` is a per-tensor Python loop (row cosines, ω's Adam, projection, in-place Adam), as the")
    lines.append("DiGraP authors' optimizer does it; `torch.pcgrad*` flattens the gradients, projects pairwise, then runs fused Adam.")
    lines.append("")
    order = {"single": 0, "equal100": 1, "mixed": 2}
    keys = sorted({(k[2], k[1]) for k in torch_rows}, key=lambda x: (x[0], order.get(x[1], 9)))

    def ns(table, name, layout, size):
        r = table.get((name, layout, size))
        if r is None:
            return None
        return r["nsPerParameter"] if isinstance(r["nsPerParameter"], float) else r["nsPerParameter"]["p50"]

    def cell(x):
        return f"{x:.3f}" if x is not None else "—"

    def ratio(a, b):
        return f"{a / b:.2f}×" if a is not None and b else "—"
    rows = []
    for size, layout in keys:
        g = ns(graft_rows, "adam", layout, size)
        f = ns(graft_rows, "floor.adam", layout, size)
        tf, tfe, tl = (ns(torch_rows, n, layout, size) for n in ("torch.adam.fused", "torch.adam.foreach", "torch.adam.forloop"))
        rows.append([fmt_size(size), layout, cell(g), cell(f), cell(tf), cell(tfe), cell(tl), ratio(tf, g), ratio(tfe, g)])
    lines.append("**Adam**")
    lines.append("")
    lines.append(md_table(["size", "layout", "Graft", "fused floor", "torch fused", "torch foreach", "torch for-loop",
                           "fused ÷ Graft", "foreach ÷ Graft"], rows, ["---:", "---"] + ["---:"] * 7))
    lines.append("")
    pairs = [("adamw", "torch.adamw.fused"), ("sgd", "torch.sgd.foreach"), ("momentum", "torch.momentum.foreach"),
             ("digrap.learned.gradient", "torch.digrap.reference"), ("pcgrad2.global", "torch.pcgrad2.global+adam.fused"),
             ("pcgrad4.global", "torch.pcgrad4.global+adam.fused")]
    rows = []
    for gname, tname in pairs:
        for size, layout in keys:
            g, t = ns(graft_rows, gname, layout, size), ns(torch_rows, tname, layout, size)
            if g is None and t is None:
                continue
            rows.append([gname, fmt_size(size), layout, cell(g), tname, cell(t), ratio(t, g)])
    lines.append("**Other step rules and robust methods**")
    lines.append("")
    lines.append(md_table(["Graft workload", "size", "layout", "Graft", "PyTorch", "PyTorch ns/p", "PyTorch ÷ Graft"], rows,
                          ["---", "---:", "---", "---:", "---", "---:", "---:"]))
    lines.append("")

    lines.append("## Training steps: phases")
    lines.append("")
    rows = []
    for tr in graft["training"]:
        key = (tr["model"], tr["batch"], tr["optimizer"])
        pt = torch_training.get(key)
        rows.append([f"{tr['model']} b{tr['batch']} {tr['optimizer']}", f"Graft ({tr['implementation']})",
                     fmt_time(tr["forward"]["p50"]), fmt_time(tr["backward"]["p50"]), fmt_time(tr["optimizerStep"]["p50"]),
                     fmt_time(tr["total"]["p50"]),
                     f"{tr['gemmShare'] * 100:.0f} %" if tr.get("gemmShare") is not None else "—"])
        if pt:
            rows.append(["", "PyTorch", fmt_time(pt["forward"]["p50"]), fmt_time(pt["backward"]["p50"]),
                         fmt_time(pt["optimizerStep"]["p50"]), fmt_time(pt["total"]["p50"]), ""])
    lines.append(md_table(["model", "impl", "forward", "backward", "optimizer", "step", "GEMM share"], rows,
                          ["---", "---", "---:", "---:", "---:", "---:", "---:"]))
    lines.append("")
    lines.append("Graft's `raw` model is Dense + ReLU + softmax cross-entropy on raw buffers with `BLAS.gemm`, its GEMM share")
    lines.append("measured inside the step, and it writes gradients with β = 0 (no zeroing); `graftnn` is the same network built")
    lines.append("with GraftNN's layers (gradients zeroed, then accumulated), what a Graft user's step costs. PyTorch's backward")
    lines.append("includes `zero_grad(set_to_none=True)`.")
    lines.append("")

    lines.append("## sgemm probe (OpenBLAS, training-step shapes)")
    lines.append("")
    rows = [[f"{g['model']} b{g['batch']}", g["shape"]["name"], f"{g['shape']['m']}×{g['shape']['n']}×{g['shape']['k']}",
             fmt_time(g["timing"]["p50"]), f"{g['gflopsPerSecond']:.1f}"] for g in graft["gemm"]]
    lines.append(md_table(["model", "gemm", "m×n×k", "p50", "GFLOP/s"], rows, ["---", "---", "---:", "---:", "---:"]))
    lines.append("")

    lines.append("## All Graft optimizer rows")
    lines.append("")
    lines.append("B/p is the byte model (README); GB/s = B/p × parameters ÷ median step; ×triad and ×upd over the best "
                 f"{m['graftThreads']}-thread triad and in-place update; ×floor over the C floor of the same step (timed "
                 "interleaved with the row when the notes say \"floor paired\"); ×adamFloor over the C Adam floor's row.")
    lines.append("")
    rows = []
    for r in graft["optimizer"]:
        t = r.get("telemetry") or {}
        notes = []
        if "projected_share" in t:
            notes.append(f"proj {t['projected_share'] * 100:.0f} %")
        if "mean_omega" in t:
            notes.append(f"ω {t['mean_omega']:.2f}")
        if "conflicts_last_step" in t:
            notes.append(f"conflicts {t['conflicts_last_step']:.0f}")
        if "decayed_share" in t:
            notes.append(f"decay {t['decayed_share'] * 100:.0f} %")
        if "fused" in t:
            notes.append("fused" if t["fused"] == 1 else "NOT fused")
        if r.get("floorPaired") and r.get("floorNsPerParameter") is not None:
            notes.append(f"floor paired {r['floorNsPerParameter']:.3f} ns/p")

        def ratio(x):
            return f"{x:.2f}" if x is not None else "—"
        rows.append([fmt_size(r["nominalSize"]), r["layout"], r["workload"], r["tensors"], fmt_time(r["timing"]["p50"]),
                     f"{r['nsPerParameter']['p0']:.3f}", f"{r['nsPerParameter']['p50']:.3f}", f"{r['nsPerParameter']['p90']:.3f}",
                     r["bytesPerParameter"], f"{r['gbPerSecond']:.1f}", ratio(r.get("ratioToTriad")), ratio(r.get("ratioToUpdate")),
                     ratio(r.get("ratioToFloor")),
                     ratio(r.get("ratioToAdamFloor")), ", ".join(notes)])
    lines.append(md_table(["size", "layout", "workload", "tensors", "step p50", "ns/p p0", "ns/p p50", "ns/p p90", "B/p", "GB/s",
                           "×triad", "×upd", "×floor", "×adamFloor", "notes"], rows,
                          ["---:", "---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"]))
    lines.append("")
    lines.append("## Commands")
    lines.append("")
    for c in commands:
        lines.append(f"    {c}")
    lines.append("")
    lines.extend(separate_measurements())
    with open(path, "w") as f:
        f.write("\n".join(lines))


def paired_section(paired_runs):
    """RESULTS.md's table of the paired Graft and PyTorch runs (every pair, then the median per size)."""
    if not paired_runs:
        return []
    out = ["**Graft against PyTorch, paired runs.** " + PAIRED_METHOD + " The \"Adam vs PyTorch fused Adam\" targets above "
           "are these medians.", ""]
    rows = [[f"`{r['graft']}`", f"`{r['torch']}`", fmt_size(r["nominalSize"]), r["layout"], str(r["pair"]),
             f"{r['graftNsPerParameter']:.3f}", f"{r['torchNsPerParameter']:.3f}", f"{r['ratio']:.3f}"] for r in paired_runs]
    rows += [[f"`{p['graft']}`", f"`{p['torch']}`", fmt_size(p["nominalSize"]), p["layout"], f"**median of {p['pairs']}**",
              f"{p['graftNsPerParameterMedian']:.3f}", f"{p['torchNsPerParameterMedian']:.3f}", f"**{p['ratioMedian']:.3f}**"]
             for p in paired_summaries(paired_runs)]
    out.append(md_table(["Graft", "PyTorch", "size", "layout", "pair", "Graft ns/p", "PyTorch ns/p", "Graft ÷ PyTorch"], rows,
                        ["---", "---", "---:", "---", "---:", "---:", "---:", "---:"]))
    out.append("")
    return out


def separate_measurements():
    """Benchmarks with their own harness and run (safetensors reading, distributed training), kept as
    Markdown in Benchmarks/results/*.md and included here with their headings one level down."""
    out = []
    folder = os.path.join(HERE, "results")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not name.endswith(".md"):
            continue
        with open(os.path.join(folder, name)) as f:
            text = f.read().strip().splitlines()
        if not out:
            out += ["## Separate measurements", "",
                    "Measured by their own programs in their own runs (commands inside each part), not in the run above.", ""]
        out += [("#" + l) if l.startswith("#") else l for l in text] + [""]
    return out


# --------------------------------------------------------------------------- main

def main():
    args = build_parser().parse_args()

    commands = []
    os.makedirs(args.json_dir, exist_ok=True)
    graft_bench = shlex.split(args.graft_bench)
    if not graft_bench:
        print("compare-pytorch.py: --graft-bench is empty", file=sys.stderr)
        return 2
    graft_json = args.graft_json
    if not graft_json:
        graft_json = os.path.join(args.json_dir, "graft.json")
        rest = shlex.split(args.graft_args) + (["--threads", str(args.threads)] if args.threads else [])
        cmd = graft_bench + ["--json", graft_json] + rest
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)
        commands.append(" ".join(graft_bench + ["--json", os.path.relpath(graft_json, ROOT)] + rest))
    else:
        commands.append(f"{' '.join(graft_bench)} --json {graft_json}")
    with open(graft_json) as f:
        graft = json.load(f)

    if args.pytorch_json:
        with open(args.pytorch_json) as f:
            saved = json.load(f)
        rows = {(r["workload"], r["layout"], r["nominalSize"]): r for r in saved["optimizer"]}
        trs = {(t["model"], t["batch"], t["optimizer"]): t for t in saved["training"]}
        commands = saved["meta"].get("commands") or commands + [".venv/bin/python Benchmarks/compare-pytorch.py"]
        write_results(args.out, graft, rows, trs, saved["meta"], commands, args.note or saved["meta"].get("notes", []),
                      (saved.get("paired") or {}).get("runs", []))
        print(f"wrote {os.path.relpath(args.out, ROOT)}", flush=True)
        return 0

    threads = args.threads or graft["machine"]["graftThreads"]
    torch.set_num_threads(threads)
    s = graft["settings"]
    policy = dict(round_seconds=s["roundSeconds"], rounds=s["rounds"], warmup_seconds=s["warmupSeconds"])
    started = time.time()
    print(f"PyTorch {torch.__version__}, {threads} threads", flush=True)

    torch_rows = {}
    done_layouts = set()
    for layout in graft["layouts"]:
        key = (layout["name"], layout["nominalSize"])
        if key in done_layouts:
            continue
        done_layouts.add(key)
        n = sum(math.prod(t["shape"]) for t in layout["tensors"])
        values, anchors, grads = layout_data(layout, seed=layout["nominalSize"] + len(layout["name"]))
        wanted = {r["workload"] for r in graft["optimizer"] if (r["layout"], r["nominalSize"]) == key}
        for name, graft_name, make in optimizer_workloads(layout, values, anchors, grads):
            if graft_name not in wanted:
                continue
            step = make()
            with torch.no_grad():
                st = measure(step, **policy)
            torch_rows[(name, layout["name"], layout["nominalSize"])] = {
                "workload": name, "graft": graft_name, "layout": layout["name"], "nominalSize": layout["nominalSize"],
                "parameters": n, "timing": st, "nsPerParameter": st["p50"] / n}
            print(f"{fmt_size(layout['nominalSize']):>4} {layout['name']:<9} {name:<34} {fmt_time(st['p50']):>10}  "
                  f"{st['p50'] / n:.3f} ns/p", flush=True)
            del step

    torch_training = {}
    if not args.skip_training:
        tpolicy = dict(round_seconds=s["roundSeconds"] * 1.5, rounds=s["rounds"], warmup_seconds=s["roundSeconds"] / 2)
        for tr in graft["training"]:
            if (tr["model"], tr["batch"], tr["optimizer"]) in torch_training:
                continue  # one PyTorch run per model, whatever Graft implementations ran
            res = training(tr["model"], tr["batch"], tr["optimizer"], tpolicy)
            torch_training[(tr["model"], tr["batch"], tr["optimizer"])] = res
            print(f"{tr['model']} b{tr['batch']} {tr['optimizer']}: forward {fmt_time(res['forward']['p50'])}, backward "
                  f"{fmt_time(res['backward']['p50'])}, step {fmt_time(res['optimizerStep']['p50'])}, total "
                  f"{fmt_time(res['total']['p50'])}", flush=True)

    paired_runs = run_pairs(graft_bench, args.pairs, threads)
    if paired_runs:
        example = graft_pair_command(graft_bench, PAIRED_COMPARISONS[0], PAIRED_COMPARISONS[0].sizes[0], threads, "<tmp>.json")
        commands.append(f"# then {args.pairs} times per paired workload and size, each run followed by PyTorch's step on its layout:")
        commands.append(" ".join(example))

    meta = {"version": torch.__version__, "threads": threads,
            "blas": "MKL" if torch.backends.mkl.is_available() else "no MKL",
            "capability": torch.backends.cpu.get_cpu_capability(),
            "elapsed": time.time() - started, "loadAtEnd": list(os.getloadavg()),
            "python": platform.python_version(), "notes": args.note, "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    commands.append(" ".join([".venv/bin/python", "Benchmarks/compare-pytorch.py"] + [shlex.quote(a) for a in sys.argv[1:]]))
    meta["commands"] = commands
    with open(os.path.join(args.json_dir, "pytorch.json"), "w") as f:
        json.dump({"schema": "graft-bench-pytorch/1", "meta": meta,
                   "optimizer": list(torch_rows.values()),
                   "training": [{"model": k[0], "batch": k[1], "optimizer": k[2], **v} for k, v in torch_training.items()],
                   "paired": {"method": PAIRED_METHOD, "pairs": args.pairs, "runs": paired_runs,
                              "summary": paired_summaries(paired_runs)}},
                  f, indent=1, sort_keys=True)
    write_results(args.out, graft, torch_rows, torch_training, meta, commands, args.note, paired_runs)
    print(f"wrote {os.path.relpath(args.out, ROOT)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

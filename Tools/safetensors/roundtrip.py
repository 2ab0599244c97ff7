#!/usr/bin/env python3
"""PyTorch -> Graft -> PyTorch round trip through safetensors (run with /work/venv/bin/python).

1. Builds the RobustFineTune MLP in PyTorch with the same module tree as Graft's Classifier:
   nn.Sequential(OrderedDict(body=nn.Sequential(Linear(256,512), ReLU, Linear(512,256), ReLU,
   Linear(256,128), ReLU), head=Linear(128,10))), so its state_dict names are body.0.weight, ...,
   head.bias, and trains it briefly on the bundled MNIST + fonts digits (pixels / 255).
2. Saves it with safetensors.torch.save_file.
3. Runs the release RobustFineTune with --pretrained on it and --export DIR (one seed).
4. Loads every exported DIR/METHOD.safetensors back into the PyTorch MLP (strict load_state_dict),
   evaluates it on the same optdigits test split (DIR/test-split.json) and checks that the number
   of correctly classified test images equals what Graft reported (results.json and the file's
   __metadata__). The zero-shot export must also equal the PyTorch weights bit for bit.

usage: roundtrip.py [--out DIR] [--methods a,b,...] [--epochs N] [--finetune-epochs N] [--no-build]
Exit status 0 only when every method matches.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import torch
from torch import nn
from safetensors.torch import load_file, save_file
from safetensors import safe_open

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "Data", "digits16")


def idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", raw[8:16])
        return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows * cols)
    assert magic == 0x801, path
    return np.frombuffer(raw, dtype=np.uint8, offset=8)


def domain(name):
    images = idx(os.path.join(DATA, f"{name}-images-idx3-ubyte")).astype(np.float32) * np.float32(1 / 255)
    labels = idx(os.path.join(DATA, f"{name}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())


def mlp(hidden=(512, 256, 128)):
    layers, width = [], 256
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(OrderedDict(body=nn.Sequential(*layers), head=nn.Linear(width, 10)))


@torch.no_grad()
def correct(model, x, y):
    model.eval()
    return int((model(x).argmax(dim=1) == y).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "safetensors-roundtrip"))
    ap.add_argument("--methods", default="zero-shot,lp,ft,lp-ft,l2sp-0.1,l2sp-1,wise-ft,digrap,digrap-w1-grad,digrap-w1-update,digrap-val-update,ftp,spd",
                    help="RobustFineTune --methods (default: all 13)")
    ap.add_argument("--epochs", type=int, default=3, help="PyTorch pre-training epochs")
    ap.add_argument("--finetune-epochs", type=int, default=5, help="RobustFineTune --epochs")
    ap.add_argument("--no-build", action="store_true", help="use the existing .build/release/RobustFineTune")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)

    # 1-2. Pre-train in PyTorch and save.
    xm, ym = domain("mnist")
    xf, yf = domain("fonts")
    x, y = torch.cat([xm, xf]), torch.cat([ym, yf])
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
        print(f"PyTorch pre-training epoch {epoch + 1}/{args.epochs}: train accuracy {correct(model, x, y) / len(x):.3f}", flush=True)
    pretrained = os.path.join(args.out, "pytorch-pretrained.safetensors")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, pretrained, metadata={"writer": f"torch {torch.__version__}", "model": "mlp256-512-256-128-10"})
    print(f"saved {pretrained}: {', '.join(state)}")

    # 3. Fine-tune in Graft.
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "RobustFineTune"], cwd=ROOT, check=True)
    export = os.path.join(args.out, "export")
    run = os.path.join(args.out, "run")
    cmd = [os.path.join(ROOT, ".build", "release", "RobustFineTune"), "--pretrained", pretrained, "--export", export,
           "--seeds", "1", "--methods", args.methods, "--epochs", str(args.finetune_epochs), "--output", run,
           "--data", DATA, "--no-cache"]
    print("$ " + " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)

    # 4. Evaluate every export in PyTorch on the same test split.
    with open(os.path.join(export, "test-split.json")) as f:
        split = json.load(f)
    xo, yo = domain("optdigits")
    test = torch.tensor(split["testIndices"])
    xt, yt = xo[test], yo[test]
    with open(os.path.join(run, "results.json")) as f:
        results = json.load(f)
    reported = {}
    for seed in results["seeds"]:
        for m in seed["methods"]:
            reported[m["method"]] = m["idAccuracy"]
    ok = True
    rows = []
    for method in args.methods.split(","):
        path = os.path.join(export, method + ".safetensors")
        with safe_open(path, framework="pt") as f:
            meta = f.metadata()
        graft_correct = int(meta["graft.test_correct"])
        fresh = mlp()
        fresh.load_state_dict(load_file(path), strict=True)
        torch_correct = correct(fresh, xt, yt)
        same = torch_correct == graft_correct and abs(reported[method] - graft_correct / len(yt)) < 1e-12
        if method == "zero-shot":
            exported = load_file(path)
            same = same and all(torch.equal(exported[k], state[k]) for k in state)
        ok = ok and same
        rows.append((method, meta["writer"], graft_correct, torch_correct, len(yt), reported[method], same))
    print()
    print("| method | Graft test accuracy | PyTorch test accuracy (exported weights) | correct (Graft / PyTorch / n) | equal |")
    print("|---|---:|---:|---:|---|")
    for method, writer, g, t, n, acc, same in rows:
        print(f"| {method} | {100 * acc:.2f}% | {100 * t / n:.2f}% | {g} / {t} / {n} | {'yes' if same else 'NO'} |")
    print()
    print("round trip OK: PyTorch reproduces Graft's test accuracy for every method" if ok else "round trip FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

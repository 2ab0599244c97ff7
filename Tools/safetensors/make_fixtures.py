#!/usr/bin/env python3
"""Safetensors fixtures for GraftSafetensorsTests (run with /work/venv/bin/python).

    make_fixtures.py            write Tests/Fixtures/safetensors/python_*.safetensors and their
                                expected values (python_*.expected.json), using the `safetensors`
                                Python library (the reference writer)
    make_fixtures.py --verify   load the Graft-written fixtures (graft_written*.safetensors,
                                recorded by `GRAFT_RECORD_SAFETENSORS=1 swift test --filter
                                GraftSafetensorsTests`) with the Python library and check every
                                tensor and the metadata against GraftWrittenFixture below

Expected values are float32 bit patterns (exact, also for infinities, NaN and -0.0): what
torch's `.to(torch.float32)` gives for each stored element.
"""
import json
import math
import os
import struct
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "safetensors")


def bits(t):
    return t.to(torch.float32).contiguous().view(torch.int32).flatten().tolist()


def expected(tensors, metadata):
    return {
        "metadata": metadata,
        "tensors": {
            name: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "bits": [b & 0xFFFFFFFF for b in bits(t)]}
            for name, t in sorted(tensors.items())
        },
    }


def fixtures():
    # Values chosen to hit every branch of the 16-bit conversions: normals, subnormals,
    # signed zeros, the largest finite values, infinities and NaN.
    f16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08,
                        -3.0517578125e-05, float("inf"), float("-inf"), float("nan"), 0.333251953125], dtype=torch.float16)
    bf16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.3895313892515355e38, 9.183549615799121e-41, 1.0e-38,
                         float("inf"), float("-inf"), float("nan"), 0.333984375, -1234.0], dtype=torch.bfloat16)
    f32 = torch.tensor([[0.1, -0.2, 3.4028234663852886e38], [1.401298464324817e-45, -0.0, float("inf")]], dtype=torch.float32)
    # F64: exactly representable values, values that round, and tiny values that underflow to 0.
    f64 = torch.tensor([0.5, -1.0e-3, 1.0 / 3.0, 1.0e-50, -3.4028234663852886e38, 16777217.0], dtype=torch.float64)
    return {
        "python_mixed": (
            {
                "layer.weight": f32,
                "half": f16.reshape(3, 4),
                "brain": bf16.reshape(2, 2, 3),
                "double": f64,
                "scalar": torch.tensor(2.75, dtype=torch.float32),
                "scalar_half": torch.tensor(-0.5, dtype=torch.float16),
                "empty": torch.zeros(0, 4, dtype=torch.float32),
                "empty_bf16": torch.zeros(3, 0, dtype=torch.bfloat16),
            },
            {"format": "pt", "note": "written by the safetensors Python library", "unicode": "μ ✓ \"quoted\"\nline"},
        ),
        "python_no_metadata": ({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, None),
        "python_empty_file": ({}, None),
    }


# What GraftSafetensorsTests.recordedGraftFile writes (keep in sync with GraftWrittenFixture in
# Tests/GraftSafetensorsTests/WriterTests.swift).
GRAFT_METADATA = {"writer": "GraftSafetensors tests", "purpose": "fixture"}


def graft_tensors():
    return {
        "body.0.weight": torch.tensor([[0.5, -1.25, 3.0], [1.0e-3, -0.0, 65504.0]], dtype=torch.float32),
        "body.0.bias": torch.tensor([0.1, -0.2], dtype=torch.float32),
        "head.scale": torch.tensor(1.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }


def record():
    os.makedirs(OUT, exist_ok=True)
    for name, (tensors, metadata) in fixtures().items():
        path = os.path.join(OUT, name + ".safetensors")
        save_file(tensors, path, metadata=metadata)
        with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
            json.dump(expected(tensors, metadata or {}), f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def verify():
    ok = True
    for suffix, dtype in (("", torch.float32), ("_bf16", torch.bfloat16)):
        path = os.path.join(OUT, f"graft_written{suffix}.safetensors")
        with safe_open(path, framework="pt") as f:
            meta = f.metadata()
            if meta != GRAFT_METADATA:
                print(f"{path}: metadata {meta} != {GRAFT_METADATA}"); ok = False
            want = {k: v.to(dtype) for k, v in graft_tensors().items()}
            if set(f.keys()) != set(want):
                print(f"{path}: names {sorted(f.keys())} != {sorted(want)}"); ok = False
            for k in f.keys():
                t = f.get_tensor(k)
                if t.dtype != dtype or t.shape != want[k].shape or not torch.equal(t, want[k]):
                    print(f"{path}: {k}: got {t.dtype} {tuple(t.shape)} {t.tolist()}, expected {want[k].tolist()}"); ok = False
        with open(path, "rb") as raw:
            n = struct.unpack("<Q", raw.read(8))[0]
            if n % 8 != 0:
                print(f"{path}: header length {n} is not a multiple of 8"); ok = False
        print(f"{path}: {'loads in Python with the expected tensors and metadata' if ok else 'MISMATCH'}")
    return ok


if __name__ == "__main__":
    if "--verify" in sys.argv:
        sys.exit(0 if verify() else 1)
    record()

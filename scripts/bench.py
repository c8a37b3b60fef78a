#!/usr/bin/env python3
"""`make bench`: full-size models at 224x224, our figures beside onnxruntime's in the same run.

Models are generated (random but sane weights) into .cache/bench/ by Tests/Fixtures/generate.py;
nothing large is committed. Prints a table and writes .cache/bench/results.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache", "bench")
MODELS = ["mobilenet_v1_1.0_224", "mobilenet_v2_1.0_224", "mnasnet_1.0_224"]


def ort_ms(path, threads, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(0, 1, (1, 3, 224, 224)).astype(np.float32)
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinympq", required=True)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    if not all(os.path.exists(os.path.join(CACHE, m + ".onnx")) for m in MODELS):
        subprocess.run([sys.executable, os.path.join(ROOT, "Tests", "Fixtures", "generate.py"), "--bench", CACHE], check=True)
    results = {}
    print(f"{'model':24} {'MB':>6} {'parse s':>8} {'ours 1t ms':>11} {'ours 2t ms':>11} {'ort 1t ms':>10} {'ort 2t ms':>10} {'ort/ours 1t':>12} {'ort/ours 2t':>12}")
    for m in MODELS:
        path = os.path.join(CACHE, m + ".onnx")
        out = subprocess.run([args.tinympq, "bench", path, "--runs", str(args.runs)], check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout.strip().splitlines()[-1])
        o1, o2 = ort_ms(path, 1, args.runs), ort_ms(path, 2, args.runs)
        r = dict(ours, ortMsPerImage1t=o1, ortMsPerImage2t=o2, sizeBytes=os.path.getsize(path),
                 speedRatio1t=o1 / ours["floatMsPerImage1t"], speedRatio2t=o2 / ours["floatMsPerImage2t"])
        results[m] = r
        print(f"{m:24} {r['sizeBytes'] / 1e6:6.1f} {r['parseSeconds']:8.3f} {r['floatMsPerImage1t']:11.2f} {r['floatMsPerImage2t']:11.2f} "
              f"{o1:10.2f} {o2:10.2f} {r['speedRatio1t']:12.2f} {r['speedRatio2t']:12.2f}")
    print("ort/ours = onnxruntime time / our time (1.0 = as fast as onnxruntime; target >= 0.5 single-threaded)")
    with open(os.path.join(CACHE, "results.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()

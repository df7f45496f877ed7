"""The small-call rows for two builds of hotloop side by side: version-specific vs abi3.

    python benchmarks/abi3_calls.py VENV_PYTHON[=label] VENV_PYTHON[=label] [--rounds 15]

Each interpreter is a venv with one installed hotloop wheel (tools/wheels.py's test venvs:
build/wheels/test-cp311/venv/bin/python and build/wheels/test-cp311-abi3/venv/bin/python), plus
bottleneck and websockets as the anchors. Rounds alternate between the venvs (a fresh process
per round, the order flipped every round), so that load drift on a shared machine hits both
builds alike; each round times every row with timeit (best of 5 repeats of ~20 ms), and the
table shows the median over rounds, in nanoseconds per call, and the anchors' ratio.

Rows: std of 50 float64 (hotloop.std vs bottleneck.nanstd), fib(1) (hotloop.fib vs a Python
fib), ws_mask of 125 bytes (hotloop.ws_mask vs websockets' C apply_mask).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

# Runs inside each venv: prints {row: ns per call}.
PROBE = r"""
import json, timeit
import numpy as np, hotloop, bottleneck
from websockets.speedups import apply_mask

def pyfib(n):
    return n if n < 2 else pyfib(n - 1) + pyfib(n - 2)

x = np.random.default_rng(0).standard_normal(50)
data, key = bytes(range(125)), b"\x37\xfa\x21\x3d"
rows = {
    "std of 50 float64: hotloop.std": lambda: hotloop.std(x),
    "std of 50 float64: bottleneck.nanstd": lambda: bottleneck.nanstd(x),
    "fib(1): hotloop.fib": lambda: hotloop.fib(1),
    "fib(1): Python fib": lambda: pyfib(1),
    "ws_mask 125 B: hotloop.ws_mask": lambda: hotloop.ws_mask(data, key),
    "ws_mask 125 B: websockets apply_mask": lambda: apply_mask(data, key),
}
out = {}
for name, fn in rows.items():
    t = timeit.Timer(fn)
    n, _ = t.autorange()
    n = max(1, n // 10)
    best = min(t.repeat(5, n)) / n
    # the lambda's own call, measured the same way, is taken off
    empty = timeit.Timer(lambda: None)
    base = min(empty.repeat(5, n)) / n
    out[name] = (best - base) * 1e9
import hotloop._build_info as b
out["_limited_api"] = b.BUILD.get("limited_api")
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pythons", nargs=2)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    labels, exes = [], []
    for item in args.pythons:
        exe, _, label = item.partition("=")
        exes.append(exe)
        labels.append(label or exe)
    results: list[dict[str, list[float]]] = [{} for _ in exes]
    for r in range(args.rounds):
        order = range(len(exes)) if r % 2 == 0 else reversed(range(len(exes)))
        for i in order:
            run = subprocess.run([exes[i], "-c", PROBE], capture_output=True, text=True, check=True)
            for name, value in json.loads(run.stdout).items():
                if not name.startswith("_"):
                    results[i].setdefault(name, []).append(value)
    names = list(results[0])
    print(f"| Row (ns per call, median of {args.rounds} rounds) | " + " | ".join(labels) + " |")
    print("| --- |" + " --- |" * len(labels))
    med = [{k: statistics.median(v) for k, v in res.items()} for res in results]
    for name in names:
        print(f"| {name} | " + " | ".join(f"{m[name]:.0f}" for m in med) + " |")
    for case in ("std of 50 float64", "fib(1)", "ws_mask 125 B"):
        hot = next(n for n in names if n.startswith(case) and "hotloop" in n)
        anchor = next(n for n in names if n.startswith(case) and "hotloop" not in n)
        ratios = " | ".join(f"{m[anchor] / m[hot]:.2f}x" for m in med)
        print(f"| {case}: anchor / hotloop | {ratios} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

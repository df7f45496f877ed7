"""hotloop's showcase: every kernel against the tools a user would otherwise pick.

    python benchmarks/showcase.py [--quick] [--only SUBSTRING] [--results PATH] [--plot PATH]

Runs every case of the families listed in ``suites.FAMILIES``, prints a table of median times
and speed-ups (other tool's time ÷ hotloop's time, measured in the same run), and writes it as
Markdown with the machine's and the packages' facts, plus a PNG bar chart of the speed-ups.

A full run writes benchmarks/RESULTS.md and benchmarks/results.png. ``--quick`` (tiny sizes, a
few rounds: a smoke test that keeps the showcase from rotting) and ``--only`` (a subset) write to
a fresh temporary directory instead, unless ``--results``/``--plot`` say where.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import harness
import report
import suites

HERE = Path(__file__).resolve().parent


class Progress:
    """One status line on stderr: rewritten in place on a terminal, one line per case else."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()
        self.prefix = ""

    def case(self, index: int, name: str) -> None:
        self.prefix = f"[{index}/{self.total}] {name}"
        if not self.tty:
            print(self.prefix, file=sys.stderr, flush=True)

    def __call__(self, message: str) -> None:
        if self.tty:
            print(f"\r\033[K{self.prefix}: {message}", end="", file=sys.stderr, flush=True)

    def done(self, summary: str) -> None:
        if self.tty:
            print(f"\r\033[K{self.prefix}: {summary}", file=sys.stderr, flush=True)
        else:
            print(f"    {summary}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/showcase.py",
        description="Time hotloop's kernels against NumPy, bottleneck, pandas and plain Python.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and 3 rounds: a smoke run (writes to a temporary directory by default)",
    )
    parser.add_argument(
        "--only",
        metavar="SUBSTRING",
        help="run only the cases whose 'family: title' contains SUBSTRING (case-insensitive)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the cases that would run, and exit"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="Markdown output (default: benchmarks/RESULTS.md for a full run)",
    )
    parser.add_argument(
        "--plot", type=Path, help="PNG output (default: benchmarks/results.png for a full run)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.perf_counter()

    cases, skipped = suites.load(quick=args.quick)
    if args.only:
        cases = [c for c in cases if args.only.lower() in c.name.lower()]
        if not cases:
            print(f"no case matches --only {args.only!r}; see --list", file=sys.stderr)
            return 2
    if args.list:
        for case in cases:
            print(case.name)
        for family, reason in skipped.items():
            print(f"{family}: skipped ({reason})")
        return 0

    if args.quick or args.only:
        default_dir = Path(tempfile.mkdtemp(prefix="hotloop-showcase-"))
    else:
        default_dir = HERE
    results_path = args.results or default_dir / "RESULTS.md"
    plot_path = args.plot or default_dir / "results.png"

    plan = harness.QUICK if args.quick else harness.FULL
    env = report.environment()
    progress = Progress(len(cases))
    timings, accuracies = [], []
    for index, case in enumerate(cases, 1):
        progress.case(index, case.name)
        t0 = time.perf_counter()
        if isinstance(case, harness.Accuracy):
            accuracies.append(harness.run_accuracy(case, progress))
            progress.done(f"done in {time.perf_counter() - t0:.1f} s")
        else:
            res = harness.run_case(case, plan, progress)
            timings.append(res)
            progress.done(f"{res.rounds} rounds in {time.perf_counter() - t0:.1f} s")
            for label in res.mismatches:
                print(f"warning: {case.name}: {label} disagrees with hotloop", file=sys.stderr)

    elapsed = time.perf_counter() - started
    env["Load average at end"] = report.load_average()
    command = report.command_line(["benchmarks/showcase.py", *argv])
    print()
    print(report.console(timings, accuracies))
    print()

    subtitle = f"{env['CPU']}, {env['Cores']}; load average at start {env['Load average at start']}"
    subtitle += f"\n{env['Date']}, {command}"
    plot_path.parent.mkdir(parents=True, exist_ok=True)
    report.write_plot(plot_path, timings, subtitle)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(
        report.markdown(
            command=command,
            env=env,
            plan=plan,
            elapsed_s=elapsed,
            timings=timings,
            accuracies=accuracies,
            skipped=skipped,
            plot=plot_path if timings else None,
            results_path=results_path,
        ),
        encoding="utf-8",
    )
    print(f"wrote {results_path} and {plot_path} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

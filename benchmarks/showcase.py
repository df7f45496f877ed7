"""hotloop's showcase: every kernel against the tools a user would otherwise pick.

    python -m benchmarks.showcase [--full | --quick] [--only SUBSTRING] [--list]
                                  [--results PATH] [--plot PATH]

Run from the repository root. Prints a table of median times and speed-ups (other tool's time ÷
hotloop's time, measured in the same run) with the versions of the packages compared, and
writes it as Markdown with the machine's facts, plus a PNG chart of the speed-ups.

The default run (about two minutes) times the one or two cases per family that carry its
claims, with fewer rounds; ``--full`` times every case and alone writes the committed
benchmarks/RESULTS.md and benchmarks/results.png. ``--quick`` (tiny sizes, three rounds: a
smoke test that keeps the showcase from rotting), the default run and any ``--only`` run write
to a fresh temporary directory instead, unless ``--results``/``--plot`` say where.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

try:
    from benchmarks import harness, patterns, report, suites
except ModuleNotFoundError as exc:  # run as a script: benchmarks/ is on sys.path, not the root
    if exc.name != "benchmarks":
        raise
    sys.exit("run the showcase from the repository root as: python -m benchmarks.showcase")

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
        line = f"\r\033[K{self.prefix}: {summary}" if self.tty else f"    {summary}"
        print(line, file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.showcase",
        description="Time hotloop's kernels against NumPy, bottleneck, pandas, numba and others.",
    )
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument(
        "--full",
        action="store_true",
        help="every case, more rounds (~10 min); writes benchmarks/RESULTS.md and results.png",
    )
    scale.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and 3 rounds: a smoke run (writes to a temporary directory)",
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
        "--no-patterns",
        action="store_true",
        help="skip the threads-by-default table (three calling patterns, run after the cases "
        "unless --only is given)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="Markdown output (default: benchmarks/RESULTS.md for --full, else a temporary dir)",
    )
    parser.add_argument(
        "--plot",
        type=Path,
        help="PNG output (default: benchmarks/results.png for --full, else a temporary dir)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.perf_counter()
    scale = "full" if args.full else "quick" if args.quick else "default"

    cases, skipped = suites.load(scale)
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

    if scale == "full" and not args.only:
        default_dir = HERE
    else:
        default_dir = Path(tempfile.mkdtemp(prefix="hotloop-showcase-"))
    results_path = args.results or default_dir / "RESULTS.md"
    plot_path = args.plot or default_dir / "results.png"

    plan = harness.PLANS[scale]
    env = report.environment()
    progress = Progress(len(cases))
    timings, accuracies, failed = [], [], []
    for index, case in enumerate(cases, 1):
        progress.case(index, case.name)
        t0 = time.perf_counter()
        try:
            if isinstance(case, harness.Accuracy):
                accuracies.append(harness.run_accuracy(case, progress))
                progress.done(f"done in {time.perf_counter() - t0:.1f} s")
            else:
                res = harness.run_case(case, plan, progress)
                timings.append(res)
                progress.done(f"{res.rounds} rounds in {time.perf_counter() - t0:.1f} s")
                for label in res.mismatches:
                    print(f"warning: {case.name}: {label} disagrees with hotloop", file=sys.stderr)
        except Exception as exc:  # one broken case must not throw away a long run's figures
            traceback.print_exc()
            failed.append(f"{case.name}: {type(exc).__name__}: {exc}")
            progress.done("FAILED (the run goes on; it exits with status 1)")

    pattern_rows = []
    if not (args.no_patterns or args.only):
        progress = Progress(1)
        progress.case(1, "threads by default, three calling patterns")
        t0 = time.perf_counter()
        pattern_rows = patterns.run(scale, progress=progress)
        progress.done(f"done in {time.perf_counter() - t0:.1f} s")

    elapsed = time.perf_counter() - started
    env["Load average at end"] = report.load_average()
    command = report.command_line(["-m", "benchmarks.showcase", *argv])
    print()
    print(report.versions(env))
    print()
    print(report.console(timings, accuracies))
    print()
    patterns_md = ""
    if pattern_rows:
        patterns_md = f"{patterns.header()}\n\n{patterns.table(pattern_rows)}\n"
        print(patterns_md)

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
        )
        + (
            f"\n## Threads by default: three calling patterns\n\n{patterns_md}"
            if patterns_md
            else ""
        )
        + ("\n## Failed cases\n\n" + "".join(f"- {f}\n" for f in failed) if failed else ""),
        encoding="utf-8",
    )
    print(f"wrote {results_path} and {plot_path} ({elapsed:.0f} s)")
    for f in failed:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

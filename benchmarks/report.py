"""Turning showcase results into a console table, RESULTS.md and a chart of speed-ups."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import hotloop
import numpy as np

from benchmarks.harness import AccuracyResult, CaseResult, Pair, Plan, Timing

ROOT = Path(__file__).resolve().parent.parent

TIMING_HEADER = (
    "Case",
    "Contender",
    "Median",
    "IQR",
    "Calls × rounds",
    "Speed-up",
    "Requirement",
    "Status",
)
# Python packages whose versions a result depends on; missing ones show as "not installed".
PACKAGES = (
    "numpy",
    "bottleneck",
    "pandas",
    "numba",
    "websockets",
    "protobuf",
    "cffi",
    "matplotlib",
    "dask",
    "distributed",
    "xarray",
)


# --------------------------------------------------------------------------------------------
# Facts about the run


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        rev = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev} (with uncommitted changes)" if dirty else rev


def load_average() -> str:
    """1, 5 and 15 minute load averages: how busy the (shared) machine was."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def environment() -> dict[str, str]:
    """What the figures depend on, as label -> value."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    facts = {
        "Date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "CPU": cpu_model(),
        "Cores": f"{os.cpu_count()} logical, {usable} usable by this process",
        "Load average at start": load_average(),
        "OS": platform.platform(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
    }
    facts.update({name: package_version(name) for name in PACKAGES})
    facts["hotloop"] = f"{hotloop.__version__}, git {git_revision()}"
    facts["hotloop openmp_enabled"] = str(hotloop.openmp_enabled())
    facts["hotloop simd_level"] = hotloop.simd_level()
    facts["hotloop threads for n_threads=None"] = str(hotloop.effective_n_threads(None))
    facts["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS", "unset")
    return facts


def command_line(argv: Sequence[str]) -> str:
    """The command as typed from the repository root, with the interpreter that ran it."""
    exe = Path(sys.executable)
    try:
        python = str(exe.relative_to(Path.cwd()))
    except ValueError:
        python = "python"
    return shlex.join([python, *argv])


# --------------------------------------------------------------------------------------------
# Formatting


def seconds(t: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def ratio(r: float) -> str:
    if not np.isfinite(r):
        return str(r)
    return f"{r:.0f}×" if r >= 100 else f"{r:.3g}×"


def error(e: float) -> str:
    return "0" if e == 0 else f"{e:.2g}"


def timing_rows(results: Sequence[CaseResult], markdown: bool) -> list[list[str]]:
    """One row per hotloop variant, then one per (anchor, hotloop variant) pair."""

    def measured(t: Timing, bold: bool = False) -> list[str]:
        label = t.contender.label
        if bold and markdown:
            label = f"**{label}**"
        return [label, seconds(t.median), f"{t.iqr:.0%}", f"{t.number} × {len(t.per_call)}"]

    rows: list[list[str]] = []
    for res in results:
        title = res.case.title
        several = len(res.subjects) > 1
        for t in res.subjects:
            rows.append([title, *measured(t, bold=True), "1 (hotloop)", "", ""])
            title = ""
        for anchor in res.anchors:
            cells = measured(anchor)
            for pair in res.pairs(anchor):
                speedup = ratio(pair.speedup)
                if several:
                    speedup += f" vs {pair.subject.contender.key}"
                status = pair.status
                if anchor.contender.label in res.mismatches:
                    status = (status + " " if status else "") + "MISMATCH"
                req = pair.requirement.text if pair.requirement else ""
                rows.append([title, *cells, speedup, req, status])
                title = ""
                cells = ["", "", "", ""]
    return rows


def accuracy_header(res: AccuracyResult) -> list[str]:
    return ["Contender", *res.case.metrics, "Requirement", "Status", "Note"]


def accuracy_rows(res: AccuracyResult) -> list[list[str]]:
    rows = []
    for row in res.rows:
        req = row.contender.requirement()
        rows.append(
            [
                row.contender.label,
                *(error(v) for v in row.values.values()),
                req.text if req else "",
                row.status,
                row.contender.note,
            ]
        )
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], grouped: bool) -> str:
    """Aligned columns; with ``grouped``, a blank line before each row that starts a group (a
    non-empty first cell)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    for r in rows:
        if grouped and r[0] and len(out) > 2:
            out.append("")
        out.append(line(r))
    return "\n".join(out)


def versions(env: dict[str, str]) -> str:
    """The software the figures depend on, on one line for the console."""
    names = ["Python", *PACKAGES, "hotloop"]
    return "Versions: " + ", ".join(f"{name} {env[name]}" for name in names)


def console(timings: Sequence[CaseResult], accuracies: Sequence[AccuracyResult]) -> str:
    parts = []
    if timings:
        parts.append(text_table(TIMING_HEADER, timing_rows(timings, markdown=False), grouped=True))
    for res in accuracies:
        parts.append(f"Accuracy: {res.case.title}, reference {res.case.reference.label}")
        parts.append(text_table(accuracy_header(res), accuracy_rows(res), grouped=False))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------------
# RESULTS.md


def markdown(
    *,
    command: str,
    env: dict[str, str],
    plan: Plan,
    elapsed_s: float,
    timings: Sequence[CaseResult],
    accuracies: Sequence[AccuracyResult],
    skipped: dict[str, str],
    plot: Path | None,
    results_path: Path,
) -> str:
    out = [
        "# hotloop showcase",
        "",
        "Each hotloop kernel against the tools a user would otherwise pick, on the same data, in "
        "the same process. **Speed-up = the other tool's median time ÷ hotloop's median time** "
        "from the same run (> 1: hotloop is faster). Requirements are the project's targets; "
        "PASS/FAIL is information, not a test. Generated file: do not edit, rerun the command.",
        "",
        f"Command (from the repository root): `{command}`",
        "",
        f"Total run time: {elapsed_s:.0f} s.",
        "",
        "## Machine and software",
        "",
        markdown_table(["", ""], list(env.items())),
        "",
    ]
    if timings:
        out += [
            "## Timings",
            "",
            markdown_table(TIMING_HEADER, timing_rows(timings, markdown=True)),
            "",
        ]
    if plot is not None:
        rel = os.path.relpath(plot, results_path.parent)
        out += [f"![Speed-ups of hotloop]({rel})", ""]
    for res in accuracies:
        out += [
            f"## Accuracy: {res.case.title}",
            "",
            f"Reference: {res.case.reference.label}; errors are relative to it, over every "
            "position where it is defined.",
            "",
            markdown_table(accuracy_header(res), accuracy_rows(res)),
            "",
        ]
    if skipped:
        out += ["## Families skipped", ""]
        out += [f"- {family}: {reason}" for family, reason in skipped.items()]
        out.append("")
    out += [
        "## Method",
        "",
        "- Every case builds its data once; all contenders run on it. Each runs once first "
        "(warm-up) and its result is compared with hotloop's (MISMATCH marks a disagreement "
        "beyond 1e-3 relative, i.e. a different computation, not an accuracy problem).",
        f"- Calls per measurement are chosen so that one measurement lasts ≥ "
        f"{plan.target_s * 1e3:g} ms; the contenders are then measured in interleaved rounds "
        "(A B C, B C A, C A B, ...) so that machine noise hits them alike, with the garbage "
        f"collector disabled. {plan.min_rounds} to {plan.max_rounds} rounds per case (always "
        f"odd), fewer for slow cases to keep each near {plan.case_budget_s:g} s of measuring.",
        "- Median = median over rounds of the time per call. IQR = interquartile range over "
        "rounds ÷ median: the noise of this run.",
        "- The machine may be shared: the load averages above say how busy it was. A team of "
        "threads waits for its slowest member, so when other processes hold a core the "
        "multi-threaded figures suffer most.",
        "- The call loop is `timeit.Timer`'s with the function and its arguments bound as "
        "locals, so only the call itself is timed; results that a call allocates (hotloop's and "
        "the others' outputs alike) are part of its time.",
        "- The chart shows, per case, the fastest other tool (memcpy ceilings left out) against "
        "hotloop's fastest variant among those with a requirement on that tool, and the "
        "requirement; the table has every pair.",
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Chart

COLOURS = {"PASS": "#2a9d8f", "FAIL": "#e76f51", "": "#8d99ae"}


def chart_rows(results: Sequence[CaseResult]) -> dict[str, list[tuple[str, str, Pair]]]:
    """{family: [(tick label, text at the bar's end, headline pair)]}, in the run's order."""
    families: dict[str, list[tuple[str, str, Pair]]] = {}
    for res in results:
        pair = res.headline()
        if pair is None:
            continue
        peer = pair.anchor.contender.label
        peer = peer if len(peer) <= 44 else peer[:43] + "…"
        tick = f"{res.case.title}\nvs {peer}"
        others = [p for p in res.all_pairs() if p.requirement is not None]
        others = [
            p
            for p in others
            if (p.anchor, p.subject) != (pair.anchor, pair.subject)
            and p.anchor.contender.label not in res.mismatches
        ]
        if others:
            met = sum(p.status == "PASS" for p in others)
            tick += f"\nother requirements: {met} of {len(others)} met"
        text = ratio(pair.speedup)
        if len(res.subjects) > 1:
            text += f" ({pair.subject.contender.key})"
        families.setdefault(res.case.family, []).append((tick, text, pair))
    return families


def write_plot(path: Path, timings: Sequence[CaseResult], subtitle: str) -> None:
    """One panel per family: for each case, the headline pair (``CaseResult.headline``) as a
    speed-up on a log scale shared by all panels, with that pair's requirement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    families = chart_rows(timings)
    if not families:
        return
    speedups = [pair.speedup for rows in families.values() for _, _, pair in rows]
    speedups += [
        pair.requirement.threshold
        for rows in families.values()
        for _, _, pair in rows
        if pair.requirement is not None
    ]
    xlim = (min(0.5, min(speedups) / 1.5), max(speedups) * 3.5)

    # Two columns of panels, split where the numbers of bars are most even; a panel's height is
    # its number of bars plus one for its title, and the shorter column is padded at the bottom,
    # so that bars are about as thick in every panel.
    names = list(families)
    units = [len(families[n]) + 1 for n in names]
    split = min(range(1, len(names) + 1), key=lambda k: abs(sum(units[:k]) - sum(units[k:])))
    columns = [(names[:split], units[:split]), (names[split:], units[split:])]
    columns = [c for c in columns if c[0]]
    height = max(sum(u) for _, u in columns)
    fig = plt.figure(
        figsize=(14 if len(columns) == 2 else 9.5, 1.6 + 0.5 * height), layout="constrained"
    )
    subfigs = fig.subfigures(1, len(columns), squeeze=False)[0]
    for subfig, (column, ratios) in zip(subfigs, columns, strict=True):
        pad = height - sum(ratios)
        axes = subfig.subplots(
            len(column) + bool(pad), 1, height_ratios=[*ratios, pad] if pad else ratios
        )
        axes = np.atleast_1d(axes)
        if pad:
            axes[-1].axis("off")
        for ax, family in zip(axes, column, strict=False):
            rows = families[family]
            y = np.arange(len(rows))
            pairs = [pair for _, _, pair in rows]
            ax.barh(y, [p.speedup for p in pairs], color=[COLOURS[p.status] for p in pairs])
            for yi, (_, text, pair) in zip(y, rows, strict=True):
                end = max(pair.speedup, 1.0)
                if pair.requirement is not None:
                    ax.plot(pair.requirement.threshold, yi, "k|", markersize=16, mew=2.5)
                    end = max(end, pair.requirement.threshold)
                ax.text(end * 1.08, yi, text, va="center", fontsize=8)
            ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
            ax.set_xscale("log")
            ax.set_xlim(*xlim)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.set_yticks(y, [tick for tick, _, _ in rows], fontsize=7.5)
            ax.set_title(family, loc="left", fontsize=10, fontweight="bold")
            ax.grid(axis="x", which="major", alpha=0.3)
            # One scale for all panels: numbers under the column's last panel only.
            ax.tick_params(axis="x", labelsize=8, labelbottom=family == column[-1])
        axes[len(column) - 1].set_xlabel(
            "speed-up = best other tool's time ÷ hotloop's time (log scale)", fontsize=9
        )
    fig.suptitle(
        "hotloop against the fastest alternative, per case (> 1: hotloop is faster)\n" + subtitle,
        fontsize=10,
    )
    fig.legend(
        handles=[
            Patch(color=COLOURS["PASS"], label="meets its requirement"),
            Patch(color=COLOURS["FAIL"], label="misses its requirement"),
            Patch(color=COLOURS[""], label="no requirement on this pair"),
            Line2D([], [], color="black", marker="|", ls="", ms=11, mew=2, label="required"),
            Line2D([], [], color="black", ls="--", lw=0.8, label="same speed"),
        ],
        loc="outside lower center",
        ncols=5 if len(columns) == 2 else 3,
        fontsize=8,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)

"""What a showcase case is, and how its contenders are timed.

A *case* is one question a user asks ("how fast is the std of 50 numbers?"): a setup that builds
the data once, one or more hotloop contenders (variants such as ``n_threads=1`` and ``2``) and
the anchors, the tools a user would otherwise pick, all called on that same data. An *accuracy*
case compares each contender's result with a slow, precise reference instead of timing it.

Timing (``run_case``): every contender first runs once (warm-up, and its result is checked
against hotloop's so that a wrong call is never timed), then gets a repetition count so that one
measurement lasts at least ``Plan.target_s``; then the contenders are measured in interleaved
rounds, so that a burst of noise on this shared machine hits all of them alike, with the garbage
collector off. Each contender's figure is the median over rounds of the time per call; a ratio is
an anchor's median divided by a hotloop median from the same run.

Why not pyperf, asv or pytest-benchmark: they time one benchmark after another (pyperf and asv
each in its own worker processes), so a change of load on this shared machine between two
benchmarks shows up as a change of their ratio. Here the contenders of a case alternate round by
round in one process, and the timed loop is the standard library's ``timeit.Timer``.
"""

from __future__ import annotations

import gc
import math
import time
import timeit
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# Requirements: targets shown next to a figure and marked PASS/FAIL. Information, not tests.


@dataclass(frozen=True)
class Requirement:
    """A target for one figure: at least (speed-ups) or at most (errors) ``threshold``."""

    text: str
    threshold: float
    at_least: bool

    def status(self, value: float) -> str:
        ok = value >= self.threshold if self.at_least else value <= self.threshold
        return "PASS" if ok else "FAIL"  # NaN compares false: FAIL


def at_least(ratio: float, what: str = "") -> Requirement:
    """hotloop must be at least ``ratio`` times faster than the anchor (speed-up >= ratio)."""
    shown = f"{ratio:.1f}" if ratio < 10 else f"{ratio:g}"
    return Requirement(f"≥ {shown}×" + (f" ({what})" if what else ""), ratio, True)


def at_most(limit: float, what: str = "") -> Requirement:
    """A measured quantity (an error) must not exceed ``limit``."""
    return Requirement(f"≤ {limit:g}" + (f" ({what})" if what else ""), limit, False)


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Contender:
    """One callable in a case.

    Called as ``fn(*args, **kwargs)`` where ``args`` is the case's data (a tuple is spread, any
    other object is the one argument), or ``args(data)`` when a contender needs another view of
    it. ``key`` names a hotloop variant in ratio rows ("1 thread"); ``require`` is the anchor's
    requirement: one for every hotloop variant, or a mapping from variant key to requirement.
    An anchor with ``peer=False`` is a yardstick (a memcpy ceiling), not a tool a user would pick
    instead: the chart leaves it out when it looks for hotloop's best peer.
    """

    label: str
    fn: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    args: Callable[[Any], tuple] | None = None
    key: str = ""
    require: Requirement | Mapping[str, Requirement] | None = None
    note: str = ""
    peer: bool = True

    def arguments(self, data: Any) -> tuple:
        if self.args is not None:
            return tuple(self.args(data))
        return data if isinstance(data, tuple) else (data,)

    def call(self, data: Any) -> Any:
        return self.fn(*self.arguments(data), **self.kwargs)

    def requirement(self, key: str = "") -> Requirement | None:
        if isinstance(self.require, Mapping):
            return self.require.get(key)
        return self.require


def close(a: Any, b: Any, rtol: float = 1e-3) -> bool:
    """Whether two contenders' results agree well enough to be the same computation.

    Loose on purpose: this guards against timing a wrong call (wrong ddof, wrong axis), not
    accuracy, which ``Accuracy`` cases measure. Tuples compare item by item; NaNs match NaNs.
    """
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)):
            return False
        return all(close(x, y, rtol) for x, y in zip(a, b, strict=True))
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))


@dataclass
class Case:
    """A timing case: hotloop variant(s) and anchors on the data ``setup()`` builds."""

    title: str
    setup: Callable[[], Any]
    hotloop: Contender | Sequence[Contender]
    anchors: Sequence[Contender]
    agree: Callable[[Any, Any], bool] | None = close
    family: str = ""  # filled in by suites.load()
    # Called, untimed, before each contender's calls in every round (and before calibrating
    # it): for cases whose contenders leave work behind that would land on the next one's
    # clock, such as dirty pages of their output files.
    between: Callable[[], None] | None = None

    @property
    def subjects(self) -> list[Contender]:
        return [self.hotloop] if isinstance(self.hotloop, Contender) else list(self.hotloop)

    @property
    def name(self) -> str:
        return f"{self.family}: {self.title}"


def relative_errors(result: Any, reference: Any) -> np.ndarray:
    """|result - reference| / |reference| where the reference is finite and non-zero.

    A NaN or a missing value where the reference has a number counts as an infinite error.
    """
    ref = np.asarray(reference)
    res = np.asarray(result, dtype=np.float64)
    if res.shape != ref.shape:
        raise ValueError(f"result has shape {res.shape}, the reference {ref.shape}")
    keep = np.isfinite(ref) & (ref != 0)
    err = np.abs(res[keep] - ref[keep]) / np.abs(ref[keep])
    err = np.asarray(err, dtype=np.float64)
    err[np.isnan(err)] = np.inf
    return err


def max_relative_error(result: Any, reference: Any) -> float:
    err = relative_errors(result, reference)
    return float(err.max()) if err.size else math.nan


def median_relative_error(result: Any, reference: Any) -> float:
    err = relative_errors(result, reference)
    return float(np.median(err)) if err.size else math.nan


DEFAULT_METRICS: Mapping[str, Callable[[Any, Any], float]] = {
    "max relative error": max_relative_error,
    "median relative error": median_relative_error,
}


@dataclass
class Accuracy:
    """An accuracy case: each contender's result against ``reference`` on the same data.

    A contender's ``require`` applies to the first metric.
    """

    title: str
    setup: Callable[[], Any]
    reference: Contender
    contenders: Sequence[Contender]
    metrics: Mapping[str, Callable[[Any, Any], float]] = field(
        default_factory=lambda: dict(DEFAULT_METRICS)
    )
    family: str = ""

    @property
    def name(self) -> str:
        return f"{self.family}: {self.title}"


class Unavailable(Exception):
    """Raised by a family's ``cases()`` when it cannot run here (a missing optional tool)."""


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Timing:
    contender: Contender
    number: int  # calls per measurement
    per_call: list[float]  # seconds per call, one value per round

    @property
    def median(self) -> float:
        return float(np.median(self.per_call))

    @property
    def iqr(self) -> float:
        """Interquartile range over rounds relative to the median: the run's noise."""
        q1, q3 = np.percentile(self.per_call, [25, 75])
        return float((q3 - q1) / self.median)


@dataclass
class Pair:
    """An anchor against one hotloop variant: speed-up = anchor time / hotloop time."""

    anchor: Timing
    subject: Timing
    requirement: Requirement | None

    @property
    def speedup(self) -> float:
        return self.anchor.median / self.subject.median

    @property
    def status(self) -> str:
        return self.requirement.status(self.speedup) if self.requirement else ""


@dataclass
class CaseResult:
    case: Case
    subjects: list[Timing]
    anchors: list[Timing]
    rounds: int
    mismatches: list[str]  # anchors whose result disagreed with hotloop's

    def pairs(self, anchor: Timing) -> list[Pair]:
        return [
            Pair(anchor, s, anchor.contender.requirement(s.contender.key)) for s in self.subjects
        ]

    def all_pairs(self) -> Iterator[Pair]:
        for anchor in self.anchors:
            yield from self.pairs(anchor)

    def headline(self) -> Pair | None:
        """The fastest peer (yardsticks left out) against hotloop's fastest variant among those
        that peer has a requirement for (all variants when it has none)."""
        peers = [a for a in self.anchors if a.contender.peer]
        if not peers:
            return None
        anchor = min(peers, key=lambda t: t.median)
        pairs = self.pairs(anchor)
        pairs = [p for p in pairs if p.requirement is not None] or pairs
        return min(pairs, key=lambda p: p.subject.median)


@dataclass
class AccuracyRow:
    contender: Contender
    values: dict[str, float]

    @property
    def status(self) -> str:
        req = self.contender.requirement()
        return req.status(next(iter(self.values.values()))) if req else ""


@dataclass
class AccuracyResult:
    case: Accuracy
    rows: list[AccuracyRow]


# --------------------------------------------------------------------------------------------
# Timing


@dataclass(frozen=True)
class Plan:
    """How long to measure."""

    target_s: float = 0.02  # one measurement (a batch of calls) lasts at least this long
    min_rounds: int = 5
    max_rounds: int = 31
    case_budget_s: float = 10.0  # rounds are cut to fit this, but never below min_rounds


# The run sizes: ``cases(scale)`` of every family picks its sizes by the same name.
PLANS: Mapping[str, Plan] = {
    "quick": Plan(target_s=0.002, min_rounds=3, max_rounds=3, case_budget_s=0.5),
    "default": Plan(target_s=0.01, min_rounds=5, max_rounds=15, case_budget_s=2.0),
    "full": Plan(),
}


def make_loop(contender: Contender, data: Any) -> Callable[[int], float]:
    """A function ``loop(number)`` that calls the contender ``number`` times and returns the
    elapsed seconds.

    The function and its arguments are bound as locals of timeit's compiled loop (its ``setup``
    runs inside that function), so no global lookup, tuple unpacking or wrapper call is timed:
    that matters when the call itself takes 30 ns.
    """
    args = contender.arguments(data)
    kwargs = dict(contender.kwargs)
    values = {"fn": contender.fn}
    values.update({f"a{i}": v for i, v in enumerate(args)})
    values.update({f"k_{k}": v for k, v in kwargs.items()})
    call = ", ".join([f"a{i}" for i in range(len(args))] + [f"{k}=k_{k}" for k in kwargs])
    timer = timeit.Timer(
        f"fn({call})",
        setup="; ".join(f"{name} = _values[{name!r}]" for name in values),
        globals={"_values": values},
    )
    return timer.timeit


def calibrate(loop: Callable[[int], float], target_s: float) -> tuple[int, float]:
    """Smallest-ish call count whose batch lasts >= target_s; returns it and seconds per call.

    A batch of several calls that reaches the target runs once more and the faster time counts:
    on a busy machine one preempted batch would otherwise stop the search at a count whose
    batches are mostly far shorter than the others' (and then less often preempted).
    """
    number = 1
    while True:
        elapsed = loop(number)
        if elapsed >= target_s and number > 1:
            elapsed = min(elapsed, loop(number))
        if elapsed >= target_s:
            return number, elapsed / number
        grow = target_s * 1.2 / elapsed if elapsed > 0 else 100.0
        number = max(2 * number, min(100 * number, math.ceil(number * grow)))


def choose_rounds(round_s: float, plan: Plan) -> int:
    rounds = int(plan.case_budget_s / round_s) if round_s > 0 else plan.max_rounds
    rounds = max(plan.min_rounds, min(plan.max_rounds, rounds))
    return rounds if rounds % 2 else rounds + 1  # odd: the median is one measured value


def run_case(
    case: Case, plan: Plan, progress: Callable[[str], None] = lambda _msg: None
) -> CaseResult:
    data = case.setup()
    contenders = [*case.subjects, *case.anchors]
    n_subjects = len(case.subjects)

    progress("warm-up")
    first = [c.call(data) for c in contenders]
    mismatches = []
    if case.agree is not None:
        mismatches = [
            c.label
            for c, result in zip(case.anchors, first[n_subjects:], strict=True)
            if not case.agree(first[0], result)
        ]
    del first
    loops = [make_loop(c, data) for c in contenders]
    gc.collect()

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        progress("calibrating")
        settle = case.between or (lambda: None)
        calibrated = []
        for loop in loops:
            settle()
            calibrated.append(calibrate(loop, plan.target_s))
        numbers = [number for number, _ in calibrated]
        round_s = sum(number * per_call for number, per_call in calibrated)
        rounds = choose_rounds(round_s, plan)
        samples: list[list[float]] = [[] for _ in contenders]
        order = list(range(len(contenders)))
        deadline = time.perf_counter() + 1.5 * plan.case_budget_s
        for r in range(rounds):
            progress(f"round {r + 1}/{rounds}")
            # A, B, C, then B, C, A, ...: interleaved, and no contender always runs right
            # after the same neighbour (whose caches or freed memory it would inherit).
            shift = r % len(order)
            for i in order[shift:] + order[:shift]:
                settle()
                samples[i].append(loops[i](numbers[i]) / numbers[i])
            # Calibration ran on a few calls; if the machine got slower since, stop at the
            # next odd round count past the budget rather than overrun it.
            done = r + 1
            if done >= plan.min_rounds and done % 2 and time.perf_counter() > deadline:
                rounds = done
                break
    finally:
        if gc_was_enabled:
            gc.enable()

    timings = [Timing(c, n, s) for c, n, s in zip(contenders, numbers, samples, strict=True)]
    return CaseResult(case, timings[:n_subjects], timings[n_subjects:], rounds, mismatches)


def run_accuracy(
    case: Accuracy, progress: Callable[[str], None] = lambda _msg: None
) -> AccuracyResult:
    data = case.setup()
    progress("reference")
    reference = case.reference.call(data)
    rows = []
    for c in case.contenders:
        progress(c.label)
        result = c.call(data)
        rows.append(
            AccuracyRow(c, {name: f(result, reference) for name, f in case.metrics.items()})
        )
    return AccuracyResult(case, rows)

"""The showcase's kernel families: one module per family, all listed in FAMILIES.

A family module ``suites/<family>.py`` exposes ``cases(scale)`` returning a list of
``harness.Case`` (timings) and ``harness.Accuracy`` (errors against a reference); ``scale`` is
one of ``harness.PLANS``: ``"quick"`` (tiny sizes, a smoke test, not a measurement),
``"default"`` (the one or two cases that carry the family's claims, at a representative size)
or ``"full"`` (every case). A family that cannot run on this machine raises
``harness.Unavailable`` from ``cases()``, and the showcase reports it as skipped: so import
optional tools (protobuf, websockets, ...) inside ``cases()``.

To add a family: write its module and add its name here, in the order the tables should show.
"""

from __future__ import annotations

import importlib

from benchmarks.harness import Accuracy, Case, Unavailable

FAMILIES: tuple[str, ...] = (
    "moments",
    "rolling",
    "julia",
    "diffusion",
    "deviceapps",
    "records",
    "wsmask",
    "fib",
    "ffi",
    "geo",
    "dask",
)


def load(scale: str, families: tuple[str, ...] = FAMILIES) -> tuple[list[Case | Accuracy], dict]:
    """All cases of the given families, and {family: reason} for the families skipped."""
    cases: list[Case | Accuracy] = []
    skipped: dict[str, str] = {}
    for family in families:
        module = importlib.import_module(f"{__name__}.{family}")
        try:
            family_cases = module.cases(scale)
        except Unavailable as exc:
            skipped[family] = str(exc)
            continue
        for case in family_cases:
            case.family = family
            cases.append(case)
    return cases, skipped

"""The showcase's kernel families: one module per family, all listed in FAMILIES.

A family module ``suites/<family>.py`` exposes ``cases(quick: bool)`` returning a list of
``harness.Case`` (timings) and ``harness.Accuracy`` (errors against a reference). With
``quick=True`` it must use tiny sizes: the quick run is a smoke test, not a measurement. A family
that cannot run on this machine raises ``harness.Unavailable`` from ``cases()``, and the showcase
reports it as skipped: so import optional tools (protobuf, websockets, ...) inside ``cases()``.

To add a family: write its module and add its name here, in the order the tables should show.
"""

from __future__ import annotations

import importlib

from harness import Accuracy, Case, Unavailable

FAMILIES: tuple[str, ...] = (
    "stats",
    "julia",
    "diffusion",
    "deviceapps",
    "wsmask",
    "fib",
    "ffi",
    "geo",
)


def load(quick: bool, families: tuple[str, ...] = FAMILIES) -> tuple[list[Case | Accuracy], dict]:
    """All cases of the given families, and {family: reason} for the families skipped."""
    cases: list[Case | Accuracy] = []
    skipped: dict[str, str] = {}
    for family in families:
        module = importlib.import_module(f"{__name__}.{family}")
        try:
            family_cases = module.cases(quick=quick)
        except Unavailable as exc:
            skipped[family] = str(exc)
            continue
        for case in family_cases:
            case.family = family
            cases.append(case)
    return cases, skipped

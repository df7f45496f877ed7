"""The annotation report: the baseline check, the text summary and the HTML index page.

tools/annotate.py produces the figures (the content of summary.json); this module compares them
with the committed baseline and renders them, as text on stdout and as DIR/index.html.

The baseline (tools/annotate_baseline.json, committed)
-------------------------------------------------------
For every module, for every function (qualified name, ``RunningStats.push``) and for the
module-level code (``<module>``): the number of lines that interact with Python and their total
score, with the Cython version and directives they were recorded under. No line numbers, so
moving code around does not touch the file; one function per line, so a review shows each change.

How ``make annotate`` (``tools/annotate.py``) compares the current figures with it:

* a function whose score is above its baseline figure is a **regression and fails the check**
  (exit status 1), unless the baseline is rewritten in the same change. The failure says what to
  run: ``make annotate-baseline`` (= ``tools/annotate.py --update-baseline``), then commit
  tools/annotate_baseline.json with the change, so that the reviewer sees the grown figure;
* a function whose score fell is *improved* and passes; recording it locks the gain in;
* a function or a whole module that is not in the baseline (a kernel family landing, a new
  helper) is *new* and passes: it is listed, and recorded by the next ``make annotate-baseline``,
  which belongs in the commit that adds it. Failing on it would break every engineer's check the
  moment another family is added to hotloop_build.MODULES. A function in the baseline that no
  longer exists (renamed, removed) is *gone*, also listed, also dropped by the next recording;
* ``--strict`` fails on new, gone and improved entries too: the baseline must match the code
  exactly. Run it before a commit to see that nothing is left unrecorded;
* module-level code (imports, constants, type registration: it runs once, at import) is recorded
  and shown, but its growth never fails the check;
* the figures depend on Cython and on the directives. Under ``HOTLOOP_CYTHON_DEBUG=1`` (bounds
  checks on: every indexing line scores) the comparison is skipped with a note, and
  ``--update-baseline`` refuses to record the debug build. Under another Cython version, or when
  the build's directives changed, the comparison runs and a failure names the difference: update
  the baseline in the commit that moves Cython or the directives.

``--update-baseline --module hotloop._x`` rewrites only that module's entries (the others stay as
committed), so engineers who land different families at the same time do not overwrite each other.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MODULE_LEVEL = "<module>"
UPDATE_COMMAND = "make annotate-baseline"
ABOUT = (
    "Per-function Python interaction of hotloop's Cython modules (`cython -a`, tools/annotate.py): "
    "lines with a non-zero score and their total score. `make annotate` fails when a function's "
    "score grows past its figure here; `make annotate-baseline` rewrites this file. Commit it "
    "with the change that moved the figures."
)

# Statuses of one function against the baseline.
SAME, REGRESSED, IMPROVED, NEW, GONE, GREW, UNCHECKED = (
    "same",
    "regressed",
    "improved",
    "new",
    "gone",
    "grew",  # module-level code above its baseline: shown, never fails
    "unchecked",  # the comparison was skipped (other directives)
)


class BaselineError(ValueError):
    """The baseline file cannot be read."""


# --------------------------------------------------------------------------------------------
# The baseline file


def load_baseline(path: Path) -> dict | None:
    """The parsed baseline, or None when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path} is not valid JSON: {exc}") from None
    modules = data.get("modules") if isinstance(data, dict) else None
    if not isinstance(modules, dict):
        raise BaselineError(f"{path} has no 'modules' object")
    for module, functions in modules.items():
        for name, figures in (functions or {}).items():
            if not (
                isinstance(figures, dict)
                and all(isinstance(figures.get(k), int) for k in ("py_lines", "score"))
            ):
                raise BaselineError(
                    f"{path}: {module} {name}: expected {{'py_lines': int, 'score': int}}, "
                    f"got {figures!r}"
                )
    return data


def baseline_from_summary(
    data: Mapping, previous: Mapping | None = None, only: Iterable[str] | None = None
) -> dict:
    """The baseline recording the figures of ``data`` (a summary.json).

    With ``only`` (module names) the previous baseline's entries of the other modules are kept.
    """
    modules: dict[str, dict] = {}
    if only is not None and previous is not None:
        keep = set(previous["modules"]) - set(only)
        modules.update({m: previous["modules"][m] for m in keep})
    for module, info in data["modules"].items():
        modules[module] = {
            name: {"py_lines": f["py_lines"], "score": f["score"]}
            for name, f in info["functions"].items()
        }
    return {
        "about": ABOUT,
        "cython": data["cython"],
        "directives": data["directives"],
        "modules": {m: dict(sorted(modules[m].items())) for m in sorted(modules)},
    }


def dump_baseline(baseline: Mapping) -> str:
    """JSON with one function per line: small, readable diffs in review."""
    head = {k: v for k, v in baseline.items() if k != "modules"}
    out = ["{"]
    out += [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}," for k, v in head.items()]
    out.append('  "modules": {')
    modules = list(baseline["modules"].items())
    for i, (module, functions) in enumerate(modules):
        out.append(f"    {json.dumps(module)}: {{")
        rows = list(functions.items())
        for j, (name, figures) in enumerate(rows):
            comma = "," if j < len(rows) - 1 else ""
            out.append(f"      {json.dumps(name)}: {json.dumps(figures, sort_keys=True)}{comma}")
        out.append("    }" + ("," if i < len(modules) - 1 else ""))
    out += ["  }", "}"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# The comparison


@dataclass(frozen=True)
class Entry:
    """One function against its baseline figures."""

    module: str
    function: str
    status: str
    py_lines: int | None = None  # None: gone
    score: int | None = None
    baseline_py_lines: int | None = None  # None: new
    baseline_score: int | None = None

    @property
    def delta(self) -> int | None:
        if self.score is None or self.baseline_score is None:
            return None
        return self.score - self.baseline_score

    def describe(self) -> str:
        name = f"{self.module} {self.function}"
        if self.status in (REGRESSED, GREW, IMPROVED):
            return (
                f"{name}: score {self.baseline_score} -> {self.score} ({self.delta:+d}), "
                f"py lines {self.baseline_py_lines} -> {self.py_lines}"
            )
        if self.status == NEW:
            return f"{name}: not in the baseline (score {self.score}, py lines {self.py_lines})"
        if self.status == GONE:
            return f"{name}: in the baseline (score {self.baseline_score}) but not in the code"
        return f"{name}: score {self.score}"


@dataclass
class Comparison:
    path: str  # the baseline file, as shown to the user
    exists: bool
    skipped: str = ""  # why the figures were not compared; "" when they were
    cython_baseline: str = ""
    cython_now: str = ""
    directives_baseline: dict = field(default_factory=dict)
    directives_now: dict = field(default_factory=dict)
    baseline_modules: frozenset[str] = frozenset()
    entries: list[Entry] = field(default_factory=list)  # current functions, then gone ones

    def with_status(self, *statuses: str) -> list[Entry]:
        return [e for e in self.entries if e.status in statuses]

    @property
    def regressions(self) -> list[Entry]:
        return self.with_status(REGRESSED)

    def unrecorded(self) -> list[Entry]:
        """What --strict fails on besides regressions: the baseline does not match the code."""
        return self.with_status(NEW, GONE, IMPROVED, GREW)

    def failures(self, strict: bool = False) -> list[Entry]:
        if self.skipped:
            return []
        return self.regressions + (self.unrecorded() if strict else [])

    def failed(self, strict: bool = False) -> bool:
        """Whether the check fails: a regression, or with --strict anything unrecorded or no
        baseline file at all (other directives skip the check even then: nothing to compare)."""
        return bool(self.failures(strict)) or (strict and not self.exists)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "exists": self.exists,
            "skipped": self.skipped,
            "cython": self.cython_baseline,
            "counts": {
                s: len(self.with_status(s)) for s in (SAME, REGRESSED, IMPROVED, NEW, GONE, GREW)
            },
            "regressions": [e.describe() for e in self.regressions],
            "gone": [e.describe() for e in self.with_status(GONE)],
        }


def compare(
    data: Mapping,
    baseline: Mapping | None,
    path: str,
    complete: bool = True,
    skip: str = "",
) -> Comparison:
    """Each function of ``data`` (a summary.json) against ``baseline`` (None: no file).

    ``complete``: ``data`` covers every module of the package, so a module of the baseline that
    is not in it is gone. A run over some modules (``--module``) says nothing about the others.
    ``skip``: why the figures are not comparable (the debug build), to skip the comparison.
    """
    result = Comparison(path, baseline is not None, cython_now=data["cython"])
    result.directives_now = dict(data["directives"])
    if baseline is None:
        result.skipped = f"no baseline file {path}"
    else:
        result.cython_baseline = str(baseline.get("cython", "?"))
        result.directives_baseline = dict(baseline.get("directives") or {})
        result.baseline_modules = frozenset(baseline["modules"])
        result.skipped = skip
    recorded = {} if baseline is None else baseline["modules"]
    current = data["modules"]
    if complete:  # the baseline's modules that are no longer built: all their functions are gone
        current = {**current, **{m: {"functions": {}} for m in recorded if m not in current}}
    for module, info in current.items():
        old = recorded.get(module, {})
        for name, f in info["functions"].items():
            base = old.get(name)
            if result.skipped:
                status = UNCHECKED
            elif base is None:
                status = NEW
            elif f["score"] > base["score"]:
                status = GREW if name == MODULE_LEVEL else REGRESSED
            elif f["score"] < base["score"]:
                status = IMPROVED
            else:
                status = SAME
            result.entries.append(
                Entry(
                    module,
                    name,
                    status,
                    f["py_lines"],
                    f["score"],
                    None if base is None else base["py_lines"],
                    None if base is None else base["score"],
                )
            )
        if not result.skipped:
            for name in sorted(set(old) - set(info["functions"])):
                base = old[name]
                result.entries.append(
                    Entry(
                        module,
                        name,
                        GONE,
                        baseline_py_lines=base["py_lines"],
                        baseline_score=base["score"],
                    )
                )
    return result


def attach(data: dict, comparison: Comparison, update: str = UPDATE_COMMAND) -> None:
    """Add the baseline figures and statuses to summary.json's functions, and the totals;
    ``update`` is the command that records the figures."""
    by_key = {(e.module, e.function): e for e in comparison.entries}
    for module, info in data["modules"].items():
        for name, f in info["functions"].items():
            e = by_key[module, name]
            f["baseline_py_lines"], f["baseline_score"], f["status"] = (
                e.baseline_py_lines,
                e.baseline_score,
                e.status,
            )
    data["baseline"] = {**comparison.to_json(), "update": update}


def describe_entries(entries: list[Entry], baseline_modules: frozenset[str]) -> list[str]:
    """One line per entry, but one per module for the modules the baseline has never seen."""
    out: list[str] = []
    whole: dict[str, list[Entry]] = {}
    for e in entries:
        if e.status == NEW and e.module not in baseline_modules:
            whole.setdefault(e.module, []).append(e)
        else:
            out.append(f"    {e.describe()}")
    for module, new in whole.items():
        score, py_lines = sum(e.score or 0 for e in new), sum(e.py_lines or 0 for e in new)
        out.append(
            f"    {module}: a module not in the baseline, {len(new)} entries "
            f"(score {score}, py lines {py_lines})"
        )
    return out


def check_messages(comparison: Comparison, strict: bool, update: str = UPDATE_COMMAND) -> list[str]:
    """What the baseline check prints, last in the output: the figures, the verdict and, when it
    fails, ``update``: the exact command that records the current figures."""
    c = comparison
    if not c.exists:
        return [
            f"baseline check {'FAILED (--strict)' if strict else 'skipped'}: there is no "
            f"{c.path}. Run `{update}` to record one, and commit it."
        ]
    if c.skipped:
        return [f"baseline check skipped: {c.skipped}"]
    counts = {s: len(c.with_status(s)) for s in (SAME, REGRESSED, IMPROVED, NEW, GONE, GREW)}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    out = [f"baseline check against {c.path} (Cython {c.cython_baseline}): {tally}"]
    for status, what in (
        (NEW, "not in the baseline yet (they pass; record them in the commit that adds them)"),
        (GONE, "in the baseline but no longer in the code (they pass; recording drops them)"),
        (IMPROVED, "score less than their baseline (they pass; record them to lock the gain in)"),
        (GREW, "module-level code above its baseline (runs once, at import: never fails)"),
    ):
        entries = c.with_status(status)
        if entries:
            out.append(f"  {len(entries)} {what}:")
            out += describe_entries(entries, c.baseline_modules)
    failures = c.failures(strict)
    if not failures:
        out.append("baseline check passed: no function's score grew past its baseline")
        return out
    regressions = c.regressions
    if regressions:
        out.append(
            f"baseline check FAILED: {len(regressions)} function(s) interact more with Python "
            f"than {c.path} records:"
        )
        out += [f"    {e.describe()}" for e in regressions]
    unrecorded = len(failures) - len(regressions)
    if unrecorded:
        out.append(
            f"baseline check FAILED (--strict): {unrecorded} entries listed above are not "
            f"recorded in {c.path}"
        )
    if c.cython_baseline != c.cython_now:
        out.append(
            f"  note: the baseline was recorded with Cython {c.cython_baseline}, this is Cython "
            f"{c.cython_now}: the scores may have moved with Cython; update the baseline in the "
            "commit that changes Cython"
        )
    changed = sorted(
        k
        for k in c.directives_baseline.keys() | c.directives_now.keys()
        if c.directives_baseline.get(k) != c.directives_now.get(k)
    )
    if changed:
        out.append(
            f"  note: the build's Cython directives {', '.join(changed)} differ from the "
            "baseline's: update the baseline in the commit that changes them"
        )
    out.append(
        f"If the change is intended, run `{update}` and commit {c.path} with it, so that the "
        "figures show in review. If not, open the report page (index.html) and take the Python "
        "interaction out of the function."
    )
    return out


# --------------------------------------------------------------------------------------------
# The text summary


def _status_text(f: Mapping) -> str:
    status = f.get("status", "")
    base = f.get("baseline_score")
    if status in (REGRESSED, GREW, IMPROVED):
        return f"{status} {f['score'] - base:+d}"
    return "" if status in (SAME, UNCHECKED) else status


def format_text(data: Mapping) -> str:
    """The summary table: one row per function and one total row per module."""
    head = (
        "module",
        "function",
        "py lines",
        "score",
        "baseline",
        "nogil lines",
        "violations",
        "status",
    )
    rows: list[tuple] = []
    for module, info in data["modules"].items():
        for name, f in info["functions"].items():
            base = f.get("baseline_score")
            rows.append(
                (
                    module,
                    name,
                    f["py_lines"],
                    f["score"],
                    "-" if base is None else base,
                    f["nogil_lines"],
                    f["violations"],
                    _status_text(f),
                )
            )
        rows.append(
            (
                module,
                "(module total)",
                info["py_lines"],
                info["score"],
                "",
                info["nogil_lines"],
                info["violations"],
                "",
            )
        )
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]

    def fmt(row: tuple) -> str:
        cells = [
            str(c).ljust(w) if i in (0, 1, 7) else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *map(fmt, rows)])


# --------------------------------------------------------------------------------------------
# The index page

_CSS = """
:root { --red: #b42318; --red-bg: #fde7e6; --green: #1a7f37; --green-bg: #e3f5e6;
        --blue-bg: #e2ecfb; --grey: #667085; --line: #d0d5dd; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #101828;
       margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
.meta { color: var(--grey); margin-top: 0; }
.verdict { border-left: 6px solid; padding: .5rem 1rem; margin: .6rem 0; border-radius: 4px; }
.verdict.pass { border-color: var(--green); background: var(--green-bg); }
.verdict.fail { border-color: var(--red); background: var(--red-bg); }
.verdict.skip { border-color: var(--grey); background: #f2f4f7; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: .28rem .6rem; text-align: left; }
th { background: #f2f4f7; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.functions { table-layout: fixed; }
table.functions col.name { width: 24%; }
td.score { position: relative; z-index: 0; }
td.score .bar { position: absolute; left: .3rem; top: 20%; height: 60%; background: #fff06a;
                z-index: -1; }
tr.total td { font-weight: 600; background: #f9fafb; }
tr.improved td { background: var(--green-bg); }
tr.new td { background: var(--blue-bg); }
tr.regressed td, tr.violation td { background: var(--red-bg); }
td.touch.bad { color: var(--red); }
table.functions td.mono { overflow-wrap: anywhere; }
#modules td.mono { white-space: nowrap; }
tr.gone td { color: var(--grey); text-decoration: line-through; }
.status-regressed, .bad { color: var(--red); font-weight: 600; }
.status-improved, .good { color: var(--green); font-weight: 600; }
.status-new { color: #175cd3; font-weight: 600; }
.status-grew { color: #b54708; }
a { color: #175cd3; }
pre.violation { background: var(--red-bg); padding: .5rem; overflow-x: auto; }
#violations + ul > li { margin-bottom: 1rem; }
footer { color: var(--grey); margin-top: 3rem; font-size: .9em; }
"""

_E = html.escape


def _link(href: str, text: str) -> str:
    return f'<a href="{_E(href)}">{_E(text)}</a>'


def _cell(value: object, cls: str = "num") -> str:
    return f'<td class="{cls}">{_E("–" if value is None else str(value))}</td>'


def _verdicts(data: Mapping) -> list[str]:
    violations = data["violations"]
    body = sum(m["nogil_lines"] for m in data["modules"].values())
    if violations:
        nogil = (
            f'<div class="verdict fail" id="nogil-verdict"><strong>nogil check failed</strong>: '
            f"{len(violations)} of {body} nogil/prange body lines interact with Python "
            f'(<a href="#violations">listed below</a>).</div>'
        )
    else:
        nogil = (
            f'<div class="verdict pass" id="nogil-verdict"><strong>nogil check passed</strong>: '
            f"{body} nogil/prange body lines, none interacts with Python.</div>"
        )
    b = data.get("baseline") or {}
    path = _E(b.get("path", "the baseline"))
    counts = b.get("counts", {})
    if not b or b.get("skipped"):
        why = _E(b.get("skipped", "no baseline"))
        base = (
            f'<div class="verdict skip" id="baseline-verdict"><strong>baseline check skipped'
            f"</strong>: {why}.</div>"
        )
    elif b["regressions"]:
        base = (
            f'<div class="verdict fail" id="baseline-verdict"><strong>baseline check failed'
            f"</strong>: {len(b['regressions'])} function(s) score more than <code>{path}"
            f"</code> records. If intended, run <code>{_E(b.get('update', UPDATE_COMMAND))}"
            f"</code> and commit <code>{path}</code> with the change.</div>"
        )
    else:
        tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        base = (
            f'<div class="verdict pass" id="baseline-verdict"><strong>baseline check passed'
            f"</strong>: no function's score grew past <code>{path}</code> ({_E(tally)}).</div>"
        )
    return [nogil, base]


def _module_table(data: Mapping) -> list[str]:
    out = [
        '<table id="modules">',
        "<thead><tr><th>module</th><th>source</th><th class='num'>functions</th>"
        "<th class='num'>py lines</th><th class='num'>score</th>"
        "<th class='num'>nogil/prange body lines</th><th class='num'>of which touch Python</th>"
        "<th>annotated</th></tr></thead><tbody>",
    ]
    for module, info in data["modules"].items():
        cls = ' class="violation"' if info["violations"] else ""
        n_functions = sum(1 for name in info["functions"] if name != MODULE_LEVEL)
        out.append(
            f"<tr{cls}><td>{_link('#' + module, module)}</td>"
            f'<td class="mono">{_E(info["pyx"])}</td>'
            + _cell(n_functions)
            + _cell(info["py_lines"])
            + _cell(info["score"])
            + _cell(info["nogil_lines"])
            + _cell(info["violations"])
            + f"<td>{_link(info['html'], Path(info['html']).name)}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def _function_table(module: str, info: Mapping, max_score: int) -> list[str]:
    out = [
        f'<h2 id="{_E(module)}">{_E(module)} <small class="mono">'
        f"({_link(info['html'], info['pyx'])})</small></h2>",
        f'<table class="functions" data-module="{_E(module)}">',
        '<colgroup><col class="name"><col span="9"></colgroup>',
        "<thead><tr><th>function</th><th>kind</th><th class='num'>lines</th>"
        "<th class='num'>py lines</th><th class='num'>score</th>"
        "<th class='num'>baseline</th><th class='num'>Δ</th>"
        "<th class='num'>nogil body lines</th><th class='num'>touch Python</th>"
        "<th>status</th></tr></thead><tbody>",
    ]
    for name, f in info["functions"].items():
        status = f.get("status", "")
        classes = [status] if status in (REGRESSED, IMPROVED, NEW) else []
        if f["violations"]:
            classes.append("violation")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        base = f.get("baseline_score")
        delta = None if base is None else f"{f['score'] - base:+d}".replace("+0", "0")
        anchor = info["html"] if name == MODULE_LEVEL else f"{info['html']}#L{f['first_line']}"
        width = 60.0 * f["score"] / max_score if max_score else 0.0  # leaves the digits clear
        text = status if status not in (SAME, UNCHECKED) else ""
        out.append(
            f"<tr{cls}><td class='mono'>{_link(anchor, name)}</td><td>{_E(f['kind'])}</td>"
            f'<td class="num">{f["first_line"]}–{f["last_line"]}</td>'
            + _cell(f["py_lines"])
            + f'<td class="num score"><span class="bar" style="width:{width:.1f}%"></span>'
            f"{f['score']}</td>"
            + _cell(base)
            + _cell(delta)
            + _cell(f["nogil_lines"])
            + _cell(f["violations"], "num touch bad" if f["violations"] else "num touch")
            + f'<td class="status-{_E(status)}">{_E(text)}</td></tr>'
        )
    out.append(
        '<tr class="total"><td>module total</td><td></td><td></td>'
        + _cell(info["py_lines"])
        + _cell(info["score"], "num score")
        + "<td></td><td></td>"
        + _cell(info["nogil_lines"])
        + _cell(info["violations"], "num touch bad" if info["violations"] else "num touch")
        + "<td></td></tr>"
    )
    out.append("</tbody></table>")
    return out


def _violations(data: Mapping) -> list[str]:
    violations = data["violations"]
    if not violations:
        return []
    htmls = {m["pyx"]: m["html"] for m in data["modules"].values()}
    out = ['<h2 id="violations">nogil/prange body lines that interact with Python</h2>', "<ul>"]
    for v in violations:
        href = f"{htmls.get(v['path'], '')}#L{v['line']}"
        calls = ", ".join(v["calls"]) or "-"
        notes = "".join(f"<br>note: {_E(n)}" for n in v["notes"])
        where = f"{v['path']}:{v['line']}"
        out.append(
            f"<li>{_link(href, where)} score {v['score']} in the "
            f"{_E(v['region'])} body of line {v['header_line']} ({_E(v['function'])})"
            f'<pre class="violation">{_E(v["source"].strip())}</pre>'
            f"Python C-API: <code>{_E(calls)}</code>{notes}</li>"
        )
    out.append("</ul>")
    return out


def _gone(data: Mapping) -> list[str]:
    gone = (data.get("baseline") or {}).get("gone") or []
    if not gone:
        return []
    items = "".join(f"<li class='mono'>{_E(g)}</li>" for g in gone)
    return [
        '<h2 id="gone">In the baseline, no longer in the code</h2>',
        f"<ul>{items}</ul><p>The next <code>{_E(UPDATE_COMMAND)}</code> drops them.</p>",
    ]


def render_index(data: Mapping) -> str:
    """The index page of the annotated modules, self-contained (no scripts, no fetches)."""
    max_score = max(
        (f["score"] for m in data["modules"].values() for f in m["functions"].values()),
        default=0,
    )
    directives = ", ".join(f"{k}={v}" for k, v in data["directives"].items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>hotloop · cython -a annotation report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<header><h1>hotloop · where Python still sits in the loops</h1>",
        f'<p class="meta">Cython {_E(data["cython"])} annotation (<code>cython -a</code>) of '
        f"{len(data['modules'])} module(s), with the build's directives: "
        f"<code>{_E(directives)}</code>.</p></header>",
        *_verdicts(data),
        "<p><strong>py lines</strong>: source lines whose C code calls Python (yellow in the "
        "annotated file); <strong>score</strong>: their total, as Cython shades them (5 per "
        "Python C-API call, 2 per Cython helper, 1 per macro). <strong>nogil/prange body "
        "lines</strong>: lines inside <code>with nogil:</code> blocks and <code>prange</code> "
        "loops; none of them may touch Python. <strong>baseline</strong>: the committed score "
        "(<code>tools/annotate_baseline.json</code>); a function above it fails "
        "<code>make annotate</code>.</p>",
        "<h2>Modules</h2>",
        *_module_table(data),
    ]
    for module, info in data["modules"].items():
        parts += _function_table(module, info, max_score)
    parts += _violations(data)
    parts += _gone(data)
    parts += [
        "<footer>Generated by <code>tools/annotate.py</code> (<code>make annotate</code>); "
        "the same figures are in <code>summary.json</code> beside this page. Click a function "
        "to open its annotated source; click a yellow line there to see its C code.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"

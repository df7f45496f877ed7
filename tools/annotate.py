"""Annotate hotloop's Cython modules (`cython -a`) and check them: ``python -m tools.annotate``.

For every module of the build (tools.hotloop_build.MODULES) this writes Cython's annotated HTML
into build/annotate/ (git-ignored), compiled in C++ mode with the directives of the real build
(hotloop_build.compiler_directives()), and build/annotate/index.html: per module and function the
lines that interact with Python and their score, the nogil/prange body lines, the baseline figure,
each line linked into the annotated HTML (``<module>.html#L<line>``).

Nothing here parses the .pyx: the figures come from Cython itself. Scores are the ``score-N``
classes of Cython's HTML (5 per Python C-API call, 2 per Cython helper call, 1 per macro of
either; reference counting and error gotos are free). The structure comes from the tree of the
same compilation, walked just before code generation: a function (``FuncDefNode``) spans the
lines of its nodes, a nogil body is the body of a ``GILStatNode`` in state "nogil", a prange body
that of a ``ParallelRangeNode``, each without its header line (where Cython puts the code that
takes the GIL back on the way out; so a body written on its header's line goes unchecked).

The run fails (exit status 1) when

* a nogil or prange body line scores: it touches Python. In Cython 3 a call declared
  ``except? v``/``except *`` or ``except +`` takes the GIL when it fails, so it scores; ``noexcept``
  and ``except -1`` calls do not. Inside prange the hand-over of any exception raised in the
  body to the GIL is put on the last body line, whichever line raises;
* a function's score grew past tools/annotate_baseline.json, recorded under the same Cython
  version and directives (``HOTLOOP_CYTHON_DEBUG=1`` turns bounds checks on: every indexing line
  then scores and nothing is compared). ``--update-baseline`` (``make annotate-baseline``)
  records the current figures, to commit with the change that moved them. Functions missing from
  the baseline pass and are listed.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import Cython
from Cython.Compiler import Nodes, Pipeline
from Cython.Compiler.Main import CompilationOptions, compile_single, default_options

from tools import hotloop_build

ROOT = hotloop_build.ROOT
OUT = ROOT / "build" / "annotate"
BASELINE = ROOT / "tools" / "annotate_baseline.json"
MODULE_LEVEL = "<module>"
# One source line of Cython's HTML: <pre class="cython line score-8" onclick=...>+<span class="">
# 016</span>: ...; the number is zero-padded.
_LINE = re.compile(r'<pre class="cython line score-(\d+)"([^>]*>[^<]*<span class="[^"]*">0*(\d+)<)')


class AnnotateError(RuntimeError):
    pass


@dataclass
class Function:
    name: str
    first: int  # first line, for the order of the report
    py_lines: dict[int, int] = field(default_factory=dict)  # line -> score
    body_lines: list[int] = field(default_factory=list)  # nogil/prange body lines

    @property
    def score(self) -> int:
        return sum(self.py_lines.values())


@dataclass
class Module:
    name: str
    pyx: Path
    html: Path
    functions: dict[str, Function]
    violations: list[str]


def _walk(node):
    yield node
    for attr in node.child_attrs:
        child = getattr(node, attr, None)
        for c in child if isinstance(child, list) else [child]:
            if isinstance(c, Nodes.Node):
                yield from _walk(c)


def _structure(tree, filename: str, module: str):
    """(functions as (qualified name, first, last), {body line: (kind, header line)})."""

    def lines(node) -> set[int]:
        return {n.pos[1] for n in _walk(node) if n.pos and n.pos[0].filename == filename}

    functions, bodies = [], {}
    for node in _walk(tree):
        if isinstance(node, Nodes.FuncDefNode) and getattr(node, "entry", None) is not None:
            span = lines(node)
            # utility code Cython adds has no line here; a generator's body and a generator
            # expression are part of the function that holds them
            if (
                not span
                or isinstance(node, Nodes.GeneratorBodyDefNode)
                or getattr(node, "is_generator_expression", False)
            ):
                continue
            name = node.entry.qualified_name.removeprefix(module + ".")
            functions.append((name, min(span), max(span)))
        elif isinstance(node, Nodes.ParallelRangeNode) or (
            # `prange(..., nogil=True)` is wrapped in a nogil block: the loop's body is enough
            isinstance(node, Nodes.GILStatNode)
            and node.state == "nogil"
            and not isinstance(node.body, Nodes.ParallelRangeNode)
        ):
            kind = "prange" if isinstance(node, Nodes.ParallelRangeNode) else "nogil"
            for line in lines(node.body) - {node.pos[1]}:
                # the innermost header wins: a prange inside a nogil block is seen after it
                bodies[line] = (kind, node.pos[1])
    return functions, bodies


def annotate_module(module: str, pyx: Path, out: Path) -> Module:
    """Run ``cython -a --cplus`` on one .pyx into out and read back its figures."""
    pyx = pyx.resolve()
    target = out / f"{module}.cpp"
    out.mkdir(parents=True, exist_ok=True)
    found = []

    def keep_tree(module_node):
        found.append(_structure(module_node, str(pyx), module))
        return module_node

    def pipeline(*args, **kwargs):
        stages = create(*args, **kwargs)
        stages.insert(stages.index(Pipeline.abort_on_errors) + 1, keep_tree)
        return stages

    options = CompilationOptions(
        default_options,
        cplus=True,
        annotate=True,
        output_file=str(target),
        include_path=[str(ROOT / "pyx")],
        compiler_directives=hotloop_build.compiler_directives(),
    )
    # compile_single has no hook for an extra stage: wrap the function that lists the stages, so
    # that the compilation is otherwise Cython's own
    create = Pipeline.create_pyx_pipeline
    with mock.patch.object(Pipeline, "create_pyx_pipeline", pipeline):
        result = compile_single(str(pyx), options, full_module_name=module)
    if result.num_errors or not found:
        raise AnnotateError(f"Cython failed on {_show(pyx)}")

    scores = {}

    def anchor(m: re.Match) -> str:
        scores[int(m.group(3))] = int(m.group(1))
        return f'<pre class="cython line score-{m.group(1)}" id="L{m.group(3)}"{m.group(2)}'

    html_file = target.with_suffix(".html")
    html_file.write_text(_LINE.sub(anchor, html_file.read_text(encoding="utf-8")), "utf-8")
    source = pyx.read_text(encoding="utf-8").splitlines()
    if sorted(scores) != list(range(1, len(source) + 1)):
        raise AnnotateError(f"{html_file}: not one score-N line per source line (new Cython?)")
    functions = {MODULE_LEVEL: Function(MODULE_LEVEL, 1)}
    spans, bodies = found[0]
    spans = sorted(spans, key=lambda f: (f[1], -f[2]))
    for line in range(1, len(source) + 1):
        inside = [f for f in spans if f[1] <= line <= f[2]]
        name, first, _ = inside[-1] if inside else (MODULE_LEVEL, 1, 0)
        f = functions.setdefault(name, Function(name, first))
        if scores.get(line):
            f.py_lines[line] = scores[line]
        if line in bodies:
            f.body_lines.append(line)
    violations = [
        f"{_show(pyx)}:{line}: score {scores[line]} in the {kind} body of line {header} "
        f"touches Python: {source[line - 1].strip()}"
        for line, (kind, header) in sorted(bodies.items())
        if scores.get(line)
    ]
    return Module(module, pyx, html_file, functions, violations)


def _show(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def package_modules() -> dict[str, Path]:
    """Module name -> .pyx for every module the build compiles."""
    return {
        name: ROOT / next(s for s in spec["sources"] if s.endswith(".pyx"))
        for name, spec in hotloop_build.MODULES.items()
    }


def figures(modules: list[Module]) -> dict:
    """The baseline's content for these modules."""
    return {
        "cython": Cython.__version__,
        "directives": hotloop_build.compiler_directives(),
        "modules": {
            m.name: {f.name: f.score for f in sorted(m.functions.values(), key=lambda f: f.name)}
            for m in modules
        },
    }


def compare(current: dict, baseline: dict) -> tuple[list[str], list[str]]:
    """(failures: scores grown past the baseline, notes: what was not compared)."""
    if {k: baseline.get(k) for k in ("cython", "directives")} != {
        k: current[k] for k in ("cython", "directives")
    }:
        return [], ["baseline recorded under another Cython version or directives: not compared"]
    failures, new = [], []
    for module, scores in current["modules"].items():
        recorded = baseline["modules"].get(module, {})
        for name, score in scores.items():
            if name not in recorded:
                new.append(f"{module}.{name}")
            elif score > recorded[name]:
                failures.append(f"{module}: {name} scores {score}, baseline {recorded[name]}")
    return failures, [f"not in the baseline yet: {', '.join(new)}"] if new else []


def dump_baseline(data: dict) -> str:
    """JSON with one function per line, so that a review shows each change."""
    lines = [f'  "{k}": {json.dumps(data[k], sort_keys=True)},' for k in ("cython", "directives")]
    lines.append('  "modules": {')
    for i, (module, scores) in enumerate(sorted(data["modules"].items())):
        rows = [f"      {json.dumps(name)}: {score}" for name, score in scores.items()]
        comma = "," if i < len(data["modules"]) - 1 else ""
        lines += [f"    {json.dumps(module)}: {{", ",\n".join(rows), f"    }}{comma}"]
    return "{\n" + "\n".join(lines) + "\n  }\n}\n"


_CSS = """body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:2px 8px;vertical-align:top;text-align:left}
.bad{background:#fde7e6}a{margin-right:.4em}"""


def render_index(modules: list[Module], baseline: dict, out: Path, verdict: list[str]) -> str:
    """The report page: one table per module, one row per function."""
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>hotloop: cython -a</title>"
        f"<style>{_CSS}</style></head><body><h1>Python interaction of hotloop's modules</h1>",
        *(f"<p class='{'bad' if 'fail' in v else ''}'>{e(v)}</p>" for v in verdict),
    ]
    for m in modules:
        link = m.html.relative_to(out).as_posix()
        recorded = baseline.get("modules", {}).get(m.name, {})
        parts.append(
            f"<h2><a href='{e(link)}'>{e(m.name)}</a> ({e(_show(m.pyx))})</h2>"
            f"<table data-module='{e(m.name)}'><tr><th>function</th><th>score</th>"
            "<th>baseline</th><th>lines that interact with Python (score)</th>"
            "<th>nogil/prange body lines</th></tr>"
        )
        for f in sorted(m.functions.values(), key=lambda f: f.first):
            bad = any(f.py_lines.get(n) for n in f.body_lines) or f.score > recorded.get(
                f.name, f.score
            )
            py = " ".join(f"<a href='{e(link)}#L{n}'>{n}</a>({s})" for n, s in f.py_lines.items())
            body = " ".join(f"<a href='{e(link)}#L{n}'>{n}</a>" for n in f.body_lines)
            parts.append(
                f"<tr class='{'bad' if bad else ''}'><td>{e(f.name)}</td><td>{f.score}</td>"
                f"<td>{recorded.get(f.name, 'new')}</td><td>{py}</td><td>{body}</td></tr>"
            )
        parts.append("</table>")
    return "\n".join([*parts, "</body></html>\n"])


def run(
    modules: dict[str, Path], out: Path, baseline_file: Path, update: bool = False
) -> tuple[int, list[str]]:
    """Annotate, write the index page, check; returns (exit status, messages)."""
    annotated = [annotate_module(name, pyx, out) for name, pyx in modules.items()]
    current = figures(annotated)
    violations = [v for m in annotated for v in m.violations]
    if update:
        baseline_file.write_text(dump_baseline(current), encoding="utf-8")
        baseline, failures = current, []
        notes = [f"baseline recorded in {_show(baseline_file)}: commit it"]
    elif baseline_file.exists():
        baseline = json.loads(baseline_file.read_text())
        failures, notes = compare(current, baseline)
    else:
        baseline, failures, notes = {}, [], ["no baseline yet: make annotate-baseline"]
    body = sum(len(f.body_lines) for m in annotated for f in m.functions.values())
    messages = [
        *(f"nogil check failed: {v}" for v in violations),
        *(f"baseline check failed: {f} (if intended: make annotate-baseline)" for f in failures),
        *notes,
        f"{len(annotated)} module(s), {body} nogil/prange body lines, "
        f"{len(violations)} touching Python; report: {_show(out / 'index.html')}",
    ]
    (out / "index.html").write_text(render_index(annotated, baseline, out, messages), "utf-8")
    return int(bool(violations or failures)), messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--update-baseline", action="store_true", help="record current scores")
    args = parser.parse_args(argv)
    try:
        status, messages = run(package_modules(), args.out, args.baseline, args.update_baseline)
    except AnnotateError as exc:
        print(f"annotate: {exc}", file=sys.stderr)
        return 2
    print("\n".join(messages))
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Annotate hotloop's Cython modules (`cython -a`) and check that nogil code never touches Python.

    python tools/annotate.py [--out DIR] [--module NAME ...] [--no-check]
                             [--baseline FILE] [--update-baseline] [--strict]

`make annotate` runs it. For the .pyx of every module in hotloop_build.MODULES (or those named by
--module) this writes Cython's annotated HTML (and the C++ it shows) into DIR (default
build/annotate/, git-ignored), compiled in C++ mode with the very directives of the real build
(hotloop_build.compiler_directives(), so HOTLOOP_CYTHON_DEBUG=1 annotates the debug build).
Nothing is written next to the sources and nothing is compiled to machine code. Each source line
of the annotated HTML gets an anchor, ``#L<line>``.

It then writes DIR/index.html, the report page: per module and per function the lines that
interact with Python and their score, the nogil/prange body lines and those of them that touch
Python (must be 0), the committed baseline figure, links to the annotated files and lines. The
same summary is printed as text, and is in DIR/summary.json.

Two checks set the exit status (1 on failure, 2 when Cython or the baseline file fails):

* the nogil check, below;
* the baseline check: a function whose score grew past tools/annotate_baseline.json fails unless
  the baseline is updated in the same change (``--update-baseline``, `make annotate-baseline`).
  New functions and modules pass and are listed; ``--strict`` fails on them too. The policy is
  spelled out in tools/annotate_report.py.

It then reads back, per source line, Cython's Python-interaction score (the shade of yellow, class
``score-N``: 5 per Python C-API call, 2 per Cython helper call, 1 per macro of either; reference
counting bookkeeping, tracing and error gotos are free) with the C code shown for the line, and
matches them with the structure of the .pyx source:

* a per-function summary (lines that interact with Python, their total score, lines in the body of
  a nogil block or prange loop, violations), printed and written to DIR/summary.json;
* the check: every body line of a ``with nogil:`` / ``with nogil(...):`` block and of a
  ``for ... in prange(...):`` loop must score 0, also a ``with gil:`` block nested in one. The
  status is 1 when one does not (``--no-check`` reports without failing).

What Cython 3.3 generates inside ``with nogil:`` (fixtures in tests/fixtures/annotate/):

* a call to a function declared ``noexcept`` scores 0, as does an extern function without an
  exception clause (Cython 3 makes those noexcept);
* ``except -1`` scores 0: the check is a C comparison and the error path jumps to the block's exit,
  which takes the GIL back (that code belongs to the header line, which is not a body line);
* ``except? -1`` and ``except *`` (also a cdef function returning int without a clause, which is
  implicitly ``except? -1``) score 2: every return of the error value calls
  ``__Pyx_ErrOccurredWithGIL``;
* ``except +`` scores 4: the catch block takes the GIL to translate the C++ exception;
* inside ``prange`` any call that can fail costs far more (about 36): each thread's error exit
  takes the GIL to hand the exception over, and Cython attributes that code to the LAST body line
  of the loop, not to the call. A violation there lists the body lines that can raise;
* boundscheck (HOTLOOP_CYTHON_DEBUG=1) makes every indexing line score 2 (it raises IndexError
  with the GIL), so the debug build does not pass the check;
* Cython's scorer has blind spots: ``__Pyx_CppExn2PyErr`` is not counted (the digit in its name),
  while ``z.real`` of a complex (the pure C macro ``__Pyx_CREAL``) scores 1. Violations list the
  Python C-API names Cython did not count too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import annotate_report
import hotloop_build

ROOT = hotloop_build.ROOT
DEFAULT_OUT = ROOT / "build" / "annotate"
DEFAULT_BASELINE = ROOT / "tools" / "annotate_baseline.json"
INCLUDE_PATH = [ROOT / "pyx"]

# --------------------------------------------------------------------------------------------
# Cython's annotated HTML

# The span classes Cython counts in a line's score (see Cython/Compiler/Annotate.py).
SCORED_CLASSES = frozenset({"py_c_api", "pyx_c_api", "py_macro_api", "pyx_macro_api"})
# Calls of Python or Cython C-API functions, counted by Cython or not.
_API_CALL = re.compile(r"\b(_?Py[A-Z]\w*|Py_[A-Za-z]\w*|__Pyx_[A-Z]\w*)\s*\(")
_THREAD_MACRO = re.compile(r"\bPy_(?:BEGIN_ALLOW|END_ALLOW|BLOCK|UNBLOCK)_THREADS\b")
# Reference-count bookkeeping of debug builds and tracing: empty in a release build.
_FREE = re.compile(r"__Pyx_(?:X?(?:GOT|GIVE)REF|RefNanny\w*|Trace\w*)")


@dataclass
class AnnotatedLine:
    """What Cython's annotation shows for one source line."""

    score: int
    c_code: str = ""
    # Names Cython counted in the score, each once, in order of appearance.
    calls: tuple[str, ...] = ()

    def other_calls(self) -> tuple[str, ...]:
        """Python C-API calls in the C code that Cython's score does not count."""
        names = [m.group(1) for m in _API_CALL.finditer(self.c_code)]
        names += _THREAD_MACRO.findall(self.c_code)
        return tuple(
            dict.fromkeys(n for n in names if n not in self.calls and not _FREE.fullmatch(n))
        )


class _AnnotationParser(HTMLParser):
    """Collects the ``<pre class="cython line score-N">`` / ``<pre class="cython code">`` pairs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: dict[int, AnnotatedLine] = {}
        self._mode = ""  # "line" or "code" inside one of Cython's <pre>, else ""
        self._score = 0
        self._number = 0
        self._text: list[str] = []
        self._calls: list[str] = []
        self._spans: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            classes = (dict(attrs).get("class") or "").split()
            scores = [c for c in classes if c.startswith("score-")]
            if "cython" in classes and scores and ("line" in classes or "code" in classes):
                self._mode = "line" if "line" in classes else "code"
                self._score = int(scores[0].removeprefix("score-"))
                self._text, self._calls, self._spans = [], [], []
        elif tag == "span" and self._mode:
            self._spans.append(dict(attrs).get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._mode and self._spans:
            self._spans.pop()
        elif tag == "pre" and self._mode:
            text = "".join(self._text)
            if self._mode == "line":
                number = re.match(r"\D*(\d+):", text)
                if number is None:
                    raise ValueError(f"no line number in annotated line {text!r}")
                self._number = int(number.group(1))
                self.lines[self._number] = AnnotatedLine(self._score)
            else:
                self.lines[self._number] = AnnotatedLine(
                    self._score, text, tuple(dict.fromkeys(self._calls))
                )
            self._mode = ""

    def handle_data(self, data: str) -> None:
        if self._mode:
            self._text.append(data)
            if self._mode == "code" and self._spans and self._spans[-1] in SCORED_CLASSES:
                self._calls.append(data)


# Cython's line <pre>, up to the zero-padded line number: <pre class="cython line score-8"
# onclick="...">+<span class="">016</span>
_LINE_PRE = re.compile(
    r'(<pre class="cython line score-\d+")(?! id=)([^>]*>[^<]*<span class="">0*(\d+)<)'
)


def add_line_anchors(html: str) -> str:
    """Give each source line of Cython's HTML an id, ``L<line>``, for links from the index."""
    return _LINE_PRE.sub(lambda m: f'{m.group(1)} id="L{m.group(3)}"{m.group(2)}', html)


def parse_annotation(html: str) -> dict[int, AnnotatedLine]:
    """Line number -> score and C code, from the HTML that ``cython -a`` writes."""
    parser = _AnnotationParser()
    parser.feed(html)
    parser.close()
    return parser.lines


# --------------------------------------------------------------------------------------------
# Structure of the .pyx source


@dataclass(frozen=True)
class LogicalLine:
    """One statement line: physical lines first..last joined (brackets, backslashes, strings)."""

    first: int
    last: int
    indent: int
    # The code with comments removed and the contents of string literals dropped.
    code: str


@dataclass(frozen=True)
class Function:
    name: str  # qualified: "RunningStats.push"
    kind: str  # "def", "cdef" or "cpdef"
    first: int
    last: int


@dataclass(frozen=True)
class Region:
    """The body of a ``with nogil`` block or of a ``prange`` loop."""

    kind: str  # "nogil" or "prange"
    header: int  # first line of the header
    first: int  # body lines first..last; == header for a one-line `with nogil: stmt`
    last: int

    @property
    def inline(self) -> bool:
        return self.first == self.header


@dataclass
class SourceStructure:
    lines: list[str]
    logical: list[LogicalLine]
    functions: list[Function]
    regions: list[Region]

    def code_lines(self) -> set[int]:
        """Physical lines that hold code (not blank, not only a comment)."""
        return {n for ll in self.logical for n in range(ll.first, ll.last + 1)}

    def function_at(self, line: int) -> Function | None:
        """The innermost function whose definition spans the line."""
        inside = [f for f in self.functions if f.first <= line <= f.last]
        return max(inside, key=lambda f: f.first) if inside else None

    def region_at(self, line: int) -> Region | None:
        """The innermost nogil/prange body holding the line; a prange wins over an outer nogil."""
        inside = [r for r in self.regions if r.first <= line <= r.last]
        if not inside:
            return None
        pranges = [r for r in inside if r.kind == "prange"]
        return max(pranges or inside, key=lambda r: r.header)


def split_source(text: str) -> list[str]:
    """Physical lines, numbered as Cython numbers them (only newlines end a line)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if len(lines) > 1 and not lines[-1] else lines


def logical_lines(lines: list[str]) -> list[LogicalLine]:
    """Join continuation lines; skip blank and comment-only lines between statements."""
    result: list[LogicalLine] = []
    quote = ""  # the delimiter that closes the string literal we are in
    depth = 0
    start = indent = 0
    code: list[str] = []
    for number, line in enumerate(lines, 1):
        if not start:
            stripped = line.lstrip()
            if not stripped or stripped.startswith("#"):
                continue
            start, code = number, []
            indent = len(line.expandtabs(8)) - len(stripped.expandtabs(8))
        backslash = False
        i = 0
        while i < len(line):
            ch = line[i]
            if quote:
                if ch == "\\":
                    i += 2
                elif line.startswith(quote, i):
                    code.append(quote)
                    i += len(quote)
                    quote = ""
                else:
                    i += 1
                continue
            if ch == "#":
                break
            if ch in "\"'":
                quote = ch * 3 if line.startswith(ch * 3, i) else ch
                code.append(quote)
                i += len(quote)
                continue
            if ch == "\\" and i == len(line) - 1:
                backslash = True
                break
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(depth - 1, 0)
            code.append(ch)
            i += 1
        if len(quote) == 1 and not line.endswith("\\"):
            quote = ""  # an unterminated one-line string: leave it, as Cython will complain
        if quote or depth or backslash:
            code.append(" ")
            continue
        result.append(LogicalLine(start, number, indent, "".join(code).strip()))
        start = 0
    if start:
        result.append(LogicalLine(start, len(lines), indent, "".join(code).strip()))
    return result


def _top_level(code: str, chars: str) -> list[int]:
    """Positions of the given characters outside brackets (string contents are already gone)."""
    depth, found = 0, []
    for i, ch in enumerate(code):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif depth == 0 and ch in chars:
            found.append(i)
    return found


_DEF = re.compile(r"(?:async\s+)?def\s+(\w+)\s*\(")
_CDEF = re.compile(r"(cp?def)\s")
_CDEF_NOT_FUNCTION = re.compile(
    r"cp?def\s+(?:(?:public|api|readonly|extern)\s+)*"
    r"(?:class|extern|enum|struct|union|cppclass|packed|fused)\b"
)
_CDEF_NAME = re.compile(r"(\w+)\s*\(")
_CDEF_WORDS = frozenset({"cdef", "cpdef", "inline", "public", "api", "readonly", "const"})
_CLASS = re.compile(r"(?:cdef\s+(?:(?:public|api|final)\s+)*)?class\s+(\w+)|property\s+(\w+)")
_PRANGE = re.compile(r"for\b.*\bin\s+(?:[\w.]+\.)?prange\s*\(")
_NOGIL_ITEM = re.compile(r"(?:cython\s*\.\s*)?nogil\s*(?:\(.*\))?")


def _function_header(code: str) -> tuple[str, str] | None:
    """(kind, name) when the line defines a function."""
    m = _DEF.match(code)
    if m:
        return "def", m.group(1)
    m = _CDEF.match(code)
    if m is None or _CDEF_NOT_FUNCTION.match(code):
        return None
    colons = _top_level(code, ":")
    if not colons:  # a declaration: cdef double x, cdef double[::1] a, cdef int (*f)(int)
        return None
    for name in _CDEF_NAME.findall(code[: colons[0]]):
        if name not in _CDEF_WORDS:
            return m.group(1), name
    return None


def _region_kind(code: str) -> str | None:
    """'nogil' for a `with nogil[(...)][, ...]:` header, 'prange' for a prange loop."""
    if _PRANGE.match(code):
        return "prange"
    if re.match(r"with\b", code):
        colons = _top_level(code, ":")
        items = code[4 : colons[0] if colons else len(code)]
        bounds = [-1, *_top_level(items, ","), len(items)]
        for a, b in itertools.pairwise(bounds):
            if _NOGIL_ITEM.fullmatch(items[a + 1 : b].strip()):
                return "nogil"
    return None


def parse_source(text: str) -> SourceStructure:
    """Find the functions and the nogil/prange bodies of a .pyx source."""
    lines = split_source(text)
    logical = logical_lines(lines)
    functions: list[Function] = []
    regions: list[Region] = []
    # Enclosing classes and functions: (name, last line of their body).
    scopes: list[tuple[str, int]] = []
    for k, ll in enumerate(logical):
        opens = ll.code.endswith(":")
        last = ll.last
        if opens:
            for nxt in logical[k + 1 :]:
                if nxt.indent <= ll.indent:
                    break
                last = nxt.last
        while scopes and scopes[-1][1] < ll.first:
            scopes.pop()
        header = _function_header(ll.code)
        cls = _CLASS.match(ll.code)
        if header is not None:
            kind, name = header
            qualname = ".".join([s for s, _ in scopes] + [name])
            functions.append(Function(qualname, kind, ll.first, last))
            if opens:
                scopes.append((name, last))
        elif cls is not None and opens:
            scopes.append((cls.group(1) or cls.group(2), last))
        region = _region_kind(ll.code)
        if region is not None:
            if opens:
                if last > ll.last:
                    regions.append(Region(region, ll.first, ll.last + 1, last))
            else:  # `with nogil: stmt` on one line
                regions.append(Region(region, ll.first, ll.first, ll.last))
    return SourceStructure(lines, logical, functions, regions)


# --------------------------------------------------------------------------------------------
# Reports


@dataclass
class FunctionReport:
    name: str
    kind: str  # "def", "cdef", "cpdef", or "module" for the lines outside any function
    first_line: int
    last_line: int
    py_lines: int = 0  # lines with a non-zero score
    score: int = 0  # sum of the scores of its lines
    nogil_lines: int = 0  # code lines in nogil/prange bodies
    violations: int = 0


@dataclass
class Violation:
    path: str
    line: int
    source: str
    function: str
    region: str  # "nogil" or "prange"
    header_line: int
    score: int
    calls: tuple[str, ...]  # what Cython counted
    other_calls: tuple[str, ...]  # Python C-API calls Cython's score misses
    notes: tuple[str, ...] = ()

    def format(self) -> str:
        out = [
            f"{self.path}:{self.line}: score {self.score} in the {self.region} body of line "
            f"{self.header_line} ({self.function})",
            f"    {self.source.strip()}",
            f"    Python C-API: {', '.join(self.calls) or '-'}",
        ]
        if self.other_calls:
            out.append(f"    also (not scored by Cython): {', '.join(self.other_calls)}")
        out += [f"    note: {note}" for note in self.notes]
        return "\n".join(out)


@dataclass
class ModuleReport:
    module: str
    pyx: Path
    html: Path
    structure: SourceStructure
    annotation: dict[int, AnnotatedLine]
    functions: list[FunctionReport] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def line(self, number: int) -> AnnotatedLine:
        return self.annotation.get(number) or AnnotatedLine(0)

    def totals(self) -> dict[str, int]:
        keys = ("py_lines", "score", "nogil_lines", "violations")
        return {k: sum(getattr(f, k) for f in self.functions) for k in keys}


MODULE_LEVEL = "<module>"

# Why a call in a nogil body touches Python, by the helper it makes Cython use.
_HINTS = {
    "__Pyx_ErrOccurredWithGIL": "a call declared `except? <value>` or `except *` (or a cdef "
    "function without a clause, implicitly `except? -1`) takes the GIL to look for an exception "
    "whenever it returns that value: declare it `noexcept` if it cannot fail",
    "__Pyx_CppExn2PyErr": "an `except +` call takes the GIL to translate a C++ exception: "
    "declare it `noexcept` if it cannot throw",
    "__Pyx_RaiseBufferIndexErrorNogil": "bounds checking raises IndexError with the GIL "
    "(boundscheck is on: HOTLOOP_CYTHON_DEBUG=1?)",
}


def _notes(report: ModuleReport, number: int, region: Region) -> tuple[str, ...]:
    info = report.line(number)
    notes = [hint for name, hint in _HINTS.items() if name in info.c_code]
    if region.inline:
        notes.append(
            "the body of a one-line nogil/prange block cannot be told from its header: "
            "write it on lines of its own"
        )
    if region.kind == "prange" and "__pyx_parallel_exc_type" in info.c_code:
        raising = [
            n for n in range(region.first, region.last + 1) if "__PYX_ERR(" in report.line(n).c_code
        ]
        where = ", ".join(map(str, raising)) if raising else str(number)
        notes.append(
            "this line carries the code that hands an exception raised in the prange body "
            f"over to the GIL (Cython puts it on the last body line); the body can raise at "
            f"line(s) {where}"
        )
    return tuple(notes)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def analyse(
    module: str,
    pyx: Path,
    html: Path,
    structure: SourceStructure,
    annotation: dict[int, AnnotatedLine],
) -> ModuleReport:
    """Combine the parsed source with the parsed annotation: summaries and violations."""
    report = ModuleReport(module, pyx, html, structure, annotation)
    code_lines = structure.code_lines()
    by_function: dict[Function | None, FunctionReport] = {
        None: FunctionReport(MODULE_LEVEL, "module", 1, len(structure.lines))
    }
    for f in structure.functions:
        by_function[f] = FunctionReport(f.name, f.kind, f.first, f.last)
    for number in range(1, len(structure.lines) + 1):
        info = report.line(number)
        row = by_function[structure.function_at(number)]
        if info.score:
            row.py_lines += 1
            row.score += info.score
        region = structure.region_at(number)
        if region is None:
            continue
        if number in code_lines:
            row.nogil_lines += 1
        if info.score:
            row.violations += 1
            report.violations.append(
                Violation(
                    path=_display(pyx),
                    line=number,
                    source=structure.lines[number - 1],
                    function=row.name,
                    region=region.kind,
                    header_line=region.header,
                    score=info.score,
                    calls=info.calls,
                    other_calls=info.other_calls(),
                    notes=_notes(report, number, region),
                )
            )
    report.functions = [*list(by_function.values())[1:], by_function[None]]
    return report


# --------------------------------------------------------------------------------------------
# Running Cython


class AnnotateError(RuntimeError):
    pass


def cythonize_annotated(
    pyx: Path, out_dir: Path, module: str, directives: Mapping[str, object] | None = None
) -> Path:
    """Run ``cython -a --cplus`` on one file; return the path of the HTML (always regenerated)."""
    from Cython.Compiler.Main import CompilationOptions, compile_single, default_options

    target = out_dir.joinpath(*module.split(".")).with_suffix(".cpp")
    html = target.with_suffix(".html")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, html):
        stale.unlink(missing_ok=True)
    options = CompilationOptions(
        default_options,
        cplus=True,
        annotate=True,
        output_file=str(target),
        include_path=[str(p) for p in INCLUDE_PATH],
        compiler_directives=dict(
            hotloop_build.compiler_directives() if directives is None else directives
        ),
    )
    result = compile_single(str(pyx), options, full_module_name=module)
    if result.num_errors or not html.exists():
        raise AnnotateError(f"Cython failed on {_display(pyx)} ({result.num_errors} error(s))")
    html.write_text(add_line_anchors(html.read_text(encoding="utf-8")), encoding="utf-8")
    return html


def annotate_module(
    pyx: Path | str,
    out_dir: Path | str,
    module: str | None = None,
    directives: Mapping[str, object] | None = None,
) -> ModuleReport:
    """Annotate one .pyx into out_dir and analyse it.

    ``module`` defaults to the file's stem; ``directives`` to those of the real build.
    """
    pyx = Path(pyx).resolve()
    module = module or pyx.stem
    html = cythonize_annotated(pyx, Path(out_dir), module, directives)
    structure = parse_source(pyx.read_text(encoding="utf-8"))
    annotation = parse_annotation(html.read_text(encoding="utf-8"))
    return analyse(module, pyx, html, structure, annotation)


def package_modules() -> dict[str, Path]:
    """Module name -> .pyx for every module the build compiles."""
    found = {}
    for name, spec in hotloop_build.MODULES.items():
        pyx = [s for s in spec["sources"] if s.endswith(".pyx")]
        if len(pyx) != 1:
            raise AnnotateError(f"{name} must have exactly one .pyx source, has {pyx}")
        found[name] = ROOT / pyx[0]
    return found


def annotate_all(
    out_dir: Path | str, modules: Mapping[str, Path] | None = None
) -> list[ModuleReport]:
    """Annotate every module (default: the package's) into out_dir."""
    modules = package_modules() if modules is None else modules
    return [annotate_module(pyx, out_dir, name) for name, pyx in modules.items()]


def check(reports: Iterable[ModuleReport]) -> list[Violation]:
    """Every nogil/prange body line that interacts with Python."""
    return [v for r in reports for v in r.violations]


def summary(reports: Iterable[ModuleReport], out_dir: Path | str) -> dict:
    """The content of summary.json."""
    import Cython

    out_dir = Path(out_dir).resolve()
    reports = list(reports)
    modules = {}
    for r in reports:
        functions: dict[str, dict] = {}
        for f in r.functions:
            key = f.name
            while key in functions:  # a redefined name
                key += "'"
            functions[key] = {k: v for k, v in asdict(f).items() if k != "name"}
        modules[r.module] = {
            "pyx": _display(r.pyx),
            "html": r.html.resolve().relative_to(out_dir).as_posix(),
            **r.totals(),
            "functions": functions,
        }
    return {
        "cython": Cython.__version__,
        "directives": hotloop_build.compiler_directives(),
        "modules": modules,
        "violations": [asdict(v) for v in check(reports)],
    }


def select_modules(
    names: Iterable[str], modules: Mapping[str, Path] | None = None
) -> dict[str, Path]:
    """The named modules (``hotloop._rolling`` or ``_rolling``) of the package or of ``modules``."""
    available = package_modules() if modules is None else dict(modules)
    chosen = {}
    for name in names:
        match = [m for m in available if name in (m, m.rsplit(".", 1)[-1])]
        if len(match) != 1:
            raise AnnotateError(
                f"--module {name!r}: expected one of {sorted(available)}"
                + (f", matched {match}" if match else "")
            )
        chosen[match[0]] = available[match[0]]
    return chosen


def write_report(data: dict, out_dir: Path) -> Path:
    """summary.json and index.html in out_dir; returns the index page."""
    (out_dir / "summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    index = out_dir / "index.html"
    index.write_text(annotate_report.render_index(data), encoding="utf-8")
    return index


def update_command(args: argparse.Namespace, default_baseline: Path) -> str:
    """The command that records the figures of this run (what the failure message says)."""
    if not args.module and args.baseline == default_baseline:
        return "make annotate-baseline"
    exe = Path(sys.executable)
    try:
        python = exe.absolute().relative_to(ROOT).as_posix()
    except ValueError:
        python = "python"
    words = [python, "tools/annotate.py", "--update-baseline"]
    words += [f"--module {m}" for m in args.module]
    if args.baseline != default_baseline:
        words.append(f"--baseline {_display(args.baseline)}")
    return " ".join(words)


def main(argv: list[str] | None = None, modules: Mapping[str, Path] | None = None) -> int:
    """The command line; `modules` (name -> .pyx) replaces the package's, for the tests."""
    parser = argparse.ArgumentParser(
        description="Annotate hotloop's .pyx files with `cython -a`, write the report page, check "
        "that no line in a nogil block or prange loop interacts with Python and that no "
        "function's Python interaction grew past the committed baseline."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output folder (default {_display(DEFAULT_OUT)})",
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="NAME",
        help="annotate only this module (repeatable; hotloop._rolling or _rolling)",
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="report nogil violations and baseline regressions but exit 0 all the same",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=DEFAULT_BASELINE,
        help=f"the per-function baseline (default {_display(DEFAULT_BASELINE)})",
    )
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="record the current figures in the baseline (only the --module ones if given); "
        "commit the file with the change that moved them",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail when the baseline lacks a function, lists a gone one or records a "
        "higher score than the current one: it must match the code exactly",
    )
    args = parser.parse_args(argv)
    if args.update_baseline and hotloop_build.env_flag("HOTLOOP_CYTHON_DEBUG"):
        print(
            "annotate: --update-baseline records the release build only: unset "
            "HOTLOOP_CYTHON_DEBUG",
            file=sys.stderr,
        )
        return 2
    baseline_name = _display(args.baseline)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.module:
            modules = select_modules(args.module, modules)
        baseline = annotate_report.load_baseline(args.baseline)
        reports = annotate_all(args.out, modules)
    except (AnnotateError, annotate_report.BaselineError) as exc:
        print(f"annotate: {exc}", file=sys.stderr)
        return 2
    data = summary(reports, args.out)
    debug = hotloop_build.env_flag("HOTLOOP_CYTHON_DEBUG")
    comparison = annotate_report.compare(
        data,
        baseline,
        baseline_name,
        complete=not args.module,
        skip="HOTLOOP_CYTHON_DEBUG=1 turns bounds checks on, which makes every indexing line "
        "score: the debug build is not comparable with the baseline"
        if debug
        else "",
    )
    update = update_command(args, DEFAULT_BASELINE)
    annotate_report.attach(data, comparison, update)
    print(annotate_report.format_text(data))
    index = write_report(data, args.out)
    print(f"\nannotated HTML, summary.json and the report page {_display(index)}")

    status = 0
    violations = check(reports)
    body_lines = sum(r.totals()["nogil_lines"] for r in reports)
    if not violations:
        print(f"nogil check: {body_lines} nogil/prange body lines, none interacts with Python")
    else:
        print(f"\nnogil check: {len(violations)} nogil/prange body line(s) interact with Python:")
        for v in violations:
            print(v.format())
        status = 1

    if args.update_baseline:
        new = annotate_report.baseline_from_summary(
            data, baseline, only=list(data["modules"]) if args.module else None
        )
        args.baseline.write_text(annotate_report.dump_baseline(new), encoding="utf-8")
        changed = [
            e
            for e in comparison.entries
            if e.status not in (annotate_report.SAME, annotate_report.UNCHECKED)
        ]
        print(
            f"baseline: recorded the figures of {len(data['modules'])} module(s) in "
            f"{baseline_name} ({'a new file' if baseline is None else f'{len(changed)} change(s)'}"
            "); commit it with this change"
        )
        for line in annotate_report.describe_entries(changed, comparison.baseline_modules):
            print(line)
    else:
        for line in annotate_report.check_messages(comparison, args.strict, update):
            print(line)
        if comparison.failed(args.strict):
            status = 1

    if status and args.no_check:
        print("(--no-check: exit status 0 all the same)")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())

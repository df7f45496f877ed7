"""tools/annotate.py: `cython -a` annotation, the per-function summary and the nogil check.

The fixtures in tests/fixtures/annotate/ mark the lines the check must report with a
``# VIOLATION`` comment; the tests compare the reported lines with the marked ones, both ways.
"""

import html
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "annotate"
sys.path.insert(0, str(ROOT / "tools"))
import annotate  # noqa: E402


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("annotate")


@pytest.fixture(scope="module")
def report(out_dir):
    """Annotate a fixture once per test module: report("clean") -> ModuleReport."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = annotate.annotate_module(FIXTURES / f"{name}.pyx", out_dir)
        return cache[name]

    return get


def line_of(name, text, exact=False):
    """The number of the only line of fixture `name` that contains (or is) `text`."""
    lines = (FIXTURES / f"{name}.pyx").read_text().split("\n")
    found = [n for n, line in enumerate(lines, 1) if (text == line if exact else text in line)]
    assert len(found) == 1, (text, found)
    return found[0]


def marked(name, marker="# VIOLATION"):
    lines = (FIXTURES / f"{name}.pyx").read_text().split("\n")
    return {n for n, line in enumerate(lines, 1) if line.rstrip().endswith(marker)}


def function(report, name):
    (found,) = [f for f in report.functions if f.name == name]
    return found


# --------------------------------------------------------------------------------------------
# The check on fixtures


def test_clean_fixture_passes(report):
    r = report("clean")
    assert annotate.check([r]) == []
    total = function(r, "total")
    # with nogil: for, s +=, s = halve(, its two continuation lines (the blank line is no code);
    # prange: the one body line. The headers, the docstring and the comments are not body lines.
    assert total.nogil_lines == 6
    assert total.py_lines > 0  # the def line and the validation, outside the nogil body
    assert [(g.kind, g.header) for g in r.structure.regions] == [
        ("nogil", line_of("clean", "    with nogil:", exact=True)),
        ("prange", line_of("clean", "for i in prange(")),
    ]


def test_violations_in_nogil_are_reported_exactly(report):
    r = report("nogil_violation")
    violations = annotate.check([r])
    assert {v.line for v in violations} == marked("nogil_violation")
    assert len(violations) == 3
    raise_line = line_of("nogil_violation", 'raise ValueError("negative")')
    (v,) = [v for v in violations if v.line == raise_line]
    assert v.function == "checked_twice"
    assert v.region == "nogil"
    assert v.header_line == raise_line - 3
    assert v.score > 0
    assert "__Pyx_Raise" in v.calls
    assert "__Pyx_PyGILState_Ensure" in v.calls  # raise in nogil takes the GIL implicitly
    assert function(r, "checked_twice").violations == 1
    assert function(r, "logged_twice").violations == 2  # `with gil:` and the print in it


def test_prange_error_path_lands_on_the_last_body_line(report):
    r = report("prange_error")
    (v,) = annotate.check([r])
    assert {v.line} == marked("prange_error")
    raising = line_of("prange_error", "# RAISES")
    assert r.line(raising).score == 0  # the call that can fail is not where Cython puts the cost
    assert "__Pyx_ErrFetchWithState" in v.calls
    assert f"line(s) {raising}" in " ".join(v.notes)


def test_exception_clauses_inside_nogil(report):
    """What each exception clause costs in `with nogil:` (Cython 3.3; see annotate's docstring).

    noexcept, extern without clause and `except -1` score 0; `except +` (GIL to translate the
    C++ exception), `except? -1`, `except *` and a cdef function without a clause (GIL to call
    PyErr_Occurred when the error value comes back) do not.
    """
    r = report("exceptions")
    violations = annotate.check([r])
    assert {v.line for v in violations} == marked("exceptions")
    for text in ["f_noexcept(x)", "f_plain(y)", "f_minus1(n)", "cy_noexcept(n)", "cy_minus1(n)"]:
        assert r.line(line_of("exceptions", text)).score == 0, text
    by_line = {v.line: v for v in violations}
    cpp = by_line[line_of("exceptions", "f_cpp(y)")]
    assert "__Pyx_CppExn2PyErr" in cpp.other_calls  # Cython's score misses it (the digit)
    for text in ["f_maybe_minus1(n)", "cy_star(n)", "cy_default(n)"]:
        assert by_line[line_of("exceptions", text)].calls == ("__Pyx_ErrOccurredWithGIL",)


# --------------------------------------------------------------------------------------------
# The summary numbers


def test_summary_of_scores_fixture(report):
    """Checked by hand against the C code of each line in the HTML (Cython 3.3.1).

    Cython's score of a line: 5 per Python C-API call (Py[A-Z]x_Yy), 2 per Cython helper call
    (__Pyx_Xy...), 1 per macro of either (__Pyx_XDECREF); refnanny (__Pyx_GOTREF) is free.
    - `cdef object boxed(double x):` holds the error exit: __Pyx_XDECREF (1) +
      __Pyx_AddTraceback (2) = 3; `return x`: PyFloat_FromDouble (5) + __Pyx_XDECREF (1) = 6.
    - `with nogil:` (a header, not a body line): PyEval_SaveThread (5) + PyEval_RestoreThread (5)
      + __Pyx_FastGIL_Remember (2) + __Pyx_FastGIL_Forget (2) = 14; `x = twice(x)` in it is 0.
    - line 1, module level: `__test__ = {}` that Cython adds: __Pyx_PyDict_NewPresized (2) +
      PyDict_SetItem (5) + __Pyx_DECREF (1) = 8.
    A new Cython may change these: check the HTML by hand again, do not just copy new numbers.
    """
    r = report("scores")
    got = {f.name: (f.py_lines, f.score, f.nogil_lines, f.violations) for f in r.functions}
    assert got == {
        "pure": (0, 0, 0, 0),
        "boxed": (2, 9, 0, 0),
        "released": (1, 14, 1, 0),
        "<module>": (1, 8, 0, 0),
    }
    assert r.line(function(r, "released").last_line).score == 0  # its `return x`
    assert r.line(line_of("scores", "    return twice(x) + 1.0")).score == 0


def test_parsed_scores_match_the_raw_html(report):
    """The HTML parser against a plain regular expression over the same file."""
    r = report("clean")
    raw = r.html.read_text()
    regex = re.compile(
        r'<pre class="cython line score-(\d+)"[^>]*>[^<]*<span class="">(\d+)</span>'
    )
    scores = {int(n): int(s) for s, n in regex.findall(raw)}
    assert len(scores) == len(r.structure.lines)
    assert {n: a.score for n, a in r.annotation.items()} == scores
    assert sum(f.score for f in r.functions) == sum(scores.values())
    code_of_def = r.line(line_of("clean", "def total(")).c_code
    assert html.unescape(code_of_def) == code_of_def  # entities are decoded
    assert "__pyx_pw_" in code_of_def or "__pyx_pf_" in code_of_def


# --------------------------------------------------------------------------------------------
# The source parser

SOURCE = '''\
cdef class Acc:
    cdef double total

    def add(self, double[::1] x, int n):
        """with nogil:
            not a header"""
        cdef Py_ssize_t i
        with nogil, parallel(num_threads=n):
            self.total += 1  # body of nogil
        with nogil(True):
            for i in \\
                    prange(x.shape[0]):
                self.total += x[i]  # prange body
            with gil:
                print("nested gil block: still a nogil body")

        def inner():
            return 1
        return inner

    @staticmethod
    cdef (int, int) pair(int a) noexcept:
        return a, a


cdef inline double[::1] view(double[::1] x,
                             int n) except *:  # continuation of the header
    return x


cdef double* p
cdef struct Point:
    double x

def one_liner(): return 0

def inline_nogil():
    with nogil: pass
'''


def test_parse_source_functions_and_regions():
    s = annotate.parse_source(SOURCE)
    lines = {t.strip(): n for n, t in enumerate(s.lines, 1)}
    assert [(f.name, f.kind, f.first, f.last) for f in s.functions] == [
        ("Acc.add", "def", 4, 19),
        ("Acc.add.inner", "def", 17, 18),
        ("Acc.pair", "cdef", 22, 23),
        ("view", "cdef", 26, 28),
        ("one_liner", "def", 35, 35),
        ("inline_nogil", "def", 37, 38),
    ]
    assert [(g.kind, g.header, g.first, g.last) for g in s.regions] == [
        ("nogil", 8, 9, 9),
        ("nogil", 10, 11, 15),
        ("prange", 11, 13, 13),
        ("nogil", 38, 38, 38),  # one line: its body cannot be told from its header
    ]
    assert s.regions[-1].inline
    assert s.region_at(lines["self.total += x[i]  # prange body"]).kind == "prange"
    assert s.region_at(lines["with gil:"]).kind == "nogil"
    assert s.region_at(lines["self.total += 1  # body of nogil"]).kind == "nogil"
    # The prange header (both its lines) is no prange body line, but a body line of the nogil block.
    assert s.region_at(11).kind == s.region_at(12).kind == "nogil"
    assert s.region_at(lines["with nogil(True):"]) is None
    assert s.region_at(5) is None  # the docstring
    assert s.function_at(lines["return 1"]).name == "Acc.add.inner"
    assert s.function_at(lines["return inner"]).name == "Acc.add"
    assert s.function_at(lines["cdef double total"]) is None


def test_logical_lines_join_brackets_strings_and_backslashes():
    s = annotate.parse_source("x = (1,  # (\n     2)\ny = '''a\n(b'''\nz = 1 + \\\n    2\n\n# c\n")
    assert [(ll.first, ll.last, ll.code) for ll in s.logical] == [
        (1, 2, "x = (1,        2)"),
        (3, 4, "y = ''' '''"),
        (5, 6, "z = 1 +      2"),
    ]


# --------------------------------------------------------------------------------------------
# The command and the real package


def test_main_fails_on_violations_and_writes_summary(tmp_path, capsys):
    modules = {"nogil_violation": FIXTURES / "nogil_violation.pyx"}
    assert annotate.main(["--out", str(tmp_path)], modules) == 1
    printed = capsys.readouterr().out
    raise_line = line_of("nogil_violation", 'raise ValueError("negative")')
    assert f"nogil_violation.pyx:{raise_line}: score" in printed
    assert "checked_twice" in printed
    data = json.loads((tmp_path / "summary.json").read_text())
    module = data["modules"]["nogil_violation"]
    assert module["functions"]["logged_twice"]["violations"] == 2
    assert module["violations"] == 3
    assert (tmp_path / module["html"]).is_file()
    assert len(data["violations"]) == 3

    assert annotate.main(["--out", str(tmp_path), "--no-check"], modules) == 0


def test_cython_errors_are_reported(tmp_path, capsys):
    bad = tmp_path / "needs_gil.pyx"
    bad.write_text("def f(x):\n    cdef int y\n    with nogil:\n        y = x\n    return y\n")
    with pytest.raises(annotate.AnnotateError, match=r"needs_gil\.pyx"):
        annotate.annotate_module(bad, tmp_path / "out")
    assert annotate.main(["--out", str(tmp_path / "out")], {"needs_gil": bad}) == 2
    assert "Cython failed" in capsys.readouterr().err


def test_real_package_has_no_violations(tmp_path, monkeypatch, capsys):
    """The shipped modules, with the release directives: nothing in nogil touches Python."""
    monkeypatch.delenv("HOTLOOP_CYTHON_DEBUG", raising=False)
    package = ROOT / "pyx" / "hotloop"
    before = {p.name: p.stat().st_mtime_ns for p in package.iterdir()}

    status = annotate.main(["--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 0, printed

    data = json.loads((tmp_path / "summary.json").read_text())
    assert set(data["modules"]) == set(annotate.hotloop_build.MODULES)
    assert data["violations"] == []
    assert sum(m["nogil_lines"] for m in data["modules"].values()) > 0
    assert sum(m["py_lines"] for m in data["modules"].values()) > 0
    # Generated files go to the output folder only, never next to the sources.
    assert {p.name: p.stat().st_mtime_ns for p in package.iterdir()} == before
    for name in data["modules"]:
        assert (tmp_path / data["modules"][name]["html"]).is_file()
    # The report page, and the committed baseline (tools/annotate_baseline.json) holds: no
    # function interacts more with Python than it records.
    assert (tmp_path / "index.html").is_file()
    assert data["baseline"]["exists"] and not data["baseline"]["skipped"]
    assert data["baseline"]["regressions"] == []
    assert "baseline check passed" in printed

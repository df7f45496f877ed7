"""The annotation report of tools/annotate.py: figures, index page, text summary and baseline check.

The figures of tests/fixtures/annotate/scores.pyx were checked by hand against the C code of its
annotated HTML (see test_annotate.py::test_summary_of_scores_fixture); here they must come out the
same in all three renderings. The baseline check runs end to end on a copy of that fixture that
the tests edit: a function that gains Python interaction must fail the check, with the command to
run, until the baseline is rewritten.
"""

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "annotate"
sys.path.insert(0, str(ROOT / "tools"))
import annotate  # noqa: E402
import annotate_report  # noqa: E402
from report_page import Page  # noqa: E402

# (py lines, score, nogil body lines, of which touch Python), by hand (Cython 3.3.1).
SCORES = {
    "pure": (0, 0, 0, 0),
    "boxed": (2, 9, 0, 0),
    "released": (1, 14, 1, 0),
    "<module>": (1, 8, 0, 0),
}
SCORES_TOTAL = (4, 31, 1, 0)

BOXED = "cdef object boxed(double x):\n    return x\n"


# --------------------------------------------------------------------------------------------
# Helpers


def text_rows(printed):
    """The text summary's rows: (module, function) -> the other columns."""
    rows = {}
    for line in printed.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 6 and cells[2].isdigit():
            rows[cells[0], cells[1]] = cells[2:]
    return rows


class Scenario:
    """A copy of the scores fixture, its own baseline file and output folder."""

    def __init__(self, tmp_path, capsys, extra=()):
        self.src = tmp_path / "src" / "scores.pyx"
        self.src.parent.mkdir()
        self.src.write_text((FIXTURES / "scores.pyx").read_text())
        self.modules = {"scores": self.src, **{name: FIXTURES / f"{name}.pyx" for name in extra}}
        self.baseline = tmp_path / "annotate_baseline.json"
        self.out = tmp_path / "out"
        self.capsys = capsys

    def edit(self, old, new):
        text = self.src.read_text()
        assert text.count(old) == 1, old
        self.src.write_text(text.replace(old, new))

    def run(self, *args):
        """(exit status, what it printed, summary.json)."""
        argv = ["--out", str(self.out), "--baseline", str(self.baseline), *args]
        status = annotate.main(argv, self.modules)
        printed = self.capsys.readouterr().out
        data = json.loads((self.out / "summary.json").read_text())
        return status, printed, data

    def recorded(self):
        return json.loads(self.baseline.read_text())["modules"]


@pytest.fixture
def scenario(tmp_path, capsys):
    return Scenario(tmp_path, capsys)


def status_of(data, function, module="scores"):
    return data["modules"][module]["functions"][function]["status"]


# --------------------------------------------------------------------------------------------
# The figures, in the text summary, summary.json and the index page


@pytest.fixture(scope="module")
def scores_report(tmp_path_factory):
    """The report of the scores fixture against a baseline that has it, as (printed, out dir)."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("scores_report")
    modules = {"scores": FIXTURES / "scores.pyx"}
    baseline = tmp / "baseline.json"
    argv = ["--out", str(tmp / "out"), "--baseline", str(baseline)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert annotate.main([*argv, "--update-baseline"], modules) == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert annotate.main(argv, modules) == 0
    return printed.getvalue(), tmp / "out"


def test_text_summary_figures(scores_report):
    printed, _ = scores_report
    rows = text_rows(printed)
    for name, (py_lines, score, nogil, touch) in SCORES.items():
        # py lines, score, baseline, nogil lines, violations
        expected = [py_lines, score, score, nogil, touch]
        assert rows["scores", name][:5] == [str(x) for x in expected], name
    assert rows["scores", "(module total)"][:2] == ["4", "31"]
    assert "nogil check: 1 nogil/prange body lines, none interacts with Python" in printed
    assert "baseline check passed" in printed


def test_summary_json_figures(scores_report):
    _, out = scores_report
    data = json.loads((out / "summary.json").read_text())
    module = data["modules"]["scores"]
    got = {
        name: (f["py_lines"], f["score"], f["nogil_lines"], f["violations"])
        for name, f in module["functions"].items()
    }
    assert got == SCORES
    assert tuple(module[k] for k in ("py_lines", "score", "nogil_lines", "violations")) == (
        SCORES_TOTAL
    )
    assert {f["status"] for f in module["functions"].values()} == {"same"}
    assert data["baseline"]["counts"]["same"] == 4
    assert data["baseline"]["regressions"] == []


def test_index_page_figures(scores_report):
    _, out = scores_report
    page = Page((out / "index.html").read_text())
    assert "annotation report" in page.title
    (modules_head, *module_rows) = page.tables["modules"]
    assert modules_head[:7] == [
        "module",
        "source",
        "functions",
        "py lines",
        "score",
        "nogil/prange body lines",
        "of which touch Python",
    ]
    assert module_rows == [
        ["scores", "tests/fixtures/annotate/scores.pyx", "3", "4", "31", "1", "0", "scores.html"]
    ]
    head, *rows = page.tables["scores"]
    assert head == [
        "function",
        "kind",
        "lines",
        "py lines",
        "score",
        "baseline",
        "Δ",
        "nogil body lines",
        "touch Python",
        "status",
    ]
    by_name = {row[0]: row for row in rows}
    for name, (py_lines, score, nogil, touch) in SCORES.items():
        row = by_name[name]
        assert [row[3], row[4], row[5], row[6], row[7], row[8], row[9]] == [
            str(py_lines),
            str(score),
            str(score),
            "0",
            str(nogil),
            str(touch),
            "",
        ], name
    assert by_name["boxed"][1:3] == ["cdef", "15–16"]
    assert by_name["module total"][3:5] == ["4", "31"]
    assert 'id="nogil-verdict"' in (out / "index.html").read_text()
    assert {"nogil-verdict", "baseline-verdict"} <= page.ids


def test_index_links_reach_the_annotated_lines(scores_report):
    _, out = scores_report
    page = Page((out / "index.html").read_text())
    assert page.links
    for href in page.links:
        parts = urlsplit(href)
        assert not parts.scheme and not parts.netloc, href  # self-contained: relative links only
        if not parts.path:
            assert parts.fragment in page.ids, href  # in-page link
            continue
        target = out / parts.path
        assert target.is_file(), href
        if parts.fragment:
            assert f'id="{parts.fragment}"' in target.read_text(), href
    # The function's link lands on its definition line of the annotated source.
    (href,) = page.row_links["scores", "boxed"]
    assert href == "scores.html#L15"
    annotated = (out / "scores.html").read_text()
    line = re.search(r'<pre class="cython line score-\d+" id="L15"[^>]*>.*?</pre>', annotated, re.S)
    assert "cdef object boxed(double x):" in re.sub(r"<[^>]+>", "", line.group(0))


def test_line_anchors_are_one_per_source_line(scores_report):
    _, out = scores_report
    annotated = (out / "scores.html").read_text()
    ids = re.findall(r'<pre class="cython line score-\d+" id="L(\d+)"', annotated)
    n_lines = len((FIXTURES / "scores.pyx").read_text().splitlines())
    assert [int(i) for i in ids] == list(range(1, n_lines + 1))
    # The anchors leave Cython's parse intact (the scores test in test_annotate.py reads the same
    # file), and adding them twice changes nothing.
    assert annotate.parse_annotation(annotated)[15].score == 3
    assert annotate.add_line_anchors(annotated) == annotated


# --------------------------------------------------------------------------------------------
# The baseline check, end to end


def test_regression_fails_until_the_baseline_is_updated(scenario):
    status, printed, _ = scenario.run("--update-baseline")
    assert status == 0, printed
    assert scenario.recorded()["scores"]["boxed"] == {"py_lines": 2, "score": 9}
    status, printed, _ = scenario.run()
    assert status == 0, printed

    # boxed() now calls print: more Python interaction.
    scenario.edit(BOXED, "cdef object boxed(double x):\n    print(x)\n    return x\n")
    status, printed, data = scenario.run()
    assert status == 1
    boxed = data["modules"]["scores"]["functions"]["boxed"]
    assert boxed["score"] > 9 and boxed["status"] == "regressed"
    assert boxed["baseline_score"] == 9
    assert f"scores boxed: score 9 -> {boxed['score']} (+{boxed['score'] - 9})" in printed
    assert "baseline check FAILED: 1 function(s)" in printed
    # The message says exactly what to run to record it.
    command = (
        f"`{Path(sys.executable).absolute().relative_to(ROOT).as_posix()} tools/annotate.py "
        f"--update-baseline --baseline {scenario.baseline}`"
    )
    assert f"run {command} and commit {scenario.baseline}" in printed
    assert data["baseline"]["regressions"] and data["baseline"]["update"] in printed
    assert text_rows(printed)["scores", "boxed"][-1] == f"regressed +{boxed['score'] - 9}"
    page = Page((scenario.out / "index.html").read_text())
    assert {row[0]: row for row in page.tables["scores"]}["boxed"][-1] == "regressed"
    assert "baseline check failed" in (scenario.out / "index.html").read_text()

    # --no-check reports it but exits 0.
    status, printed, _ = scenario.run("--no-check")
    assert status == 0 and "baseline check FAILED" in printed

    # Recording the new figure (the same commit) makes the check pass again.
    status, printed, _ = scenario.run("--update-baseline")
    assert status == 0
    assert f"scores boxed: score 9 -> {boxed['score']}" in printed
    assert scenario.recorded()["scores"]["boxed"]["score"] == boxed["score"]
    status, printed, data = scenario.run("--strict")
    assert status == 0, printed
    assert status_of(data, "boxed") == "same"


def test_a_smaller_regression_still_fails(scenario):
    """The threshold is the recorded score itself: one point more fails."""
    scenario.run("--update-baseline")
    baseline = json.loads(scenario.baseline.read_text())
    baseline["modules"]["scores"]["released"]["score"] -= 1
    scenario.baseline.write_text(annotate_report.dump_baseline(baseline))
    status, printed, data = scenario.run()
    assert status == 1
    assert "scores released: score 13 -> 14 (+1)" in printed
    assert status_of(data, "released") == "regressed"


def test_new_gone_and_improved_pass_but_fail_strict(scenario):
    scenario.run("--update-baseline")
    scenario.edit(BOXED, "cdef double boxed(double x) noexcept:\n    return x\n")  # no boxing
    scenario.edit(
        "cdef double released(double x) noexcept:\n    with nogil:\n        x = twice(x)\n"
        "    return x\n",
        "def added(x):\n    return x + 1\n",
    )
    status, printed, data = scenario.run()
    assert status == 0, printed
    assert status_of(data, "boxed") == "improved"
    assert status_of(data, "added") == "new"
    assert "released" not in data["modules"]["scores"]["functions"]
    assert "scores added: not in the baseline" in printed
    assert "scores released: in the baseline (score 14) but not in the code" in printed
    assert "scores boxed: score 9 -> 0 (-9)" in printed
    assert data["baseline"]["counts"] == {
        "same": 2,
        "regressed": 0,
        "improved": 1,
        "new": 1,
        "gone": 1,
        "grew": 0,
    }
    page = (scenario.out / "index.html").read_text()
    assert "scores released: in the baseline" in page  # the gone list
    assert 'class="new"' in page and 'class="improved"' in page

    status, printed, _ = scenario.run("--strict")
    assert status == 1
    assert "baseline check FAILED (--strict): 3 entries" in printed

    scenario.run("--update-baseline")
    assert set(scenario.recorded()["scores"]) == {"pure", "boxed", "added", "<module>"}
    status, printed, _ = scenario.run("--strict")
    assert status == 0, printed


def test_new_module_passes_and_is_listed(tmp_path, capsys):
    scenario = Scenario(tmp_path, capsys, extra=["clean"])
    scenario.modules.pop("clean")
    scenario.run("--update-baseline")
    scenario.modules["clean"] = FIXTURES / "clean.pyx"  # another engineer's family lands
    status, printed, data = scenario.run()
    assert status == 0, printed
    assert {f["status"] for f in data["modules"]["clean"]["functions"].values()} == {"new"}
    # One line for a whole new module (clean.pyx: halve 0 + total 95 + <module> 8).
    assert "clean: a module not in the baseline, 3 entries (score 103, py lines 6)" in printed
    assert scenario.run("--strict")[0] == 1


def test_gone_module(tmp_path, capsys):
    scenario = Scenario(tmp_path, capsys, extra=["clean"])
    scenario.run("--update-baseline")
    scenario.modules.pop("clean")
    status, printed, _ = scenario.run()
    assert status == 0
    assert "clean total: in the baseline (score 95) but not in the code" in printed
    # A run over some modules says nothing about the others.
    status, printed, _ = scenario.run("--module", "scores", "--strict")
    assert status == 0, printed
    scenario.run("--update-baseline")
    assert set(scenario.recorded()) == {"scores"}


def test_module_level_growth_never_fails(scenario):
    scenario.run("--update-baseline")
    scenario.edit("cdef extern from *:", "import math\nTAU = 2 * math.pi\n\ncdef extern from *:")
    status, printed, data = scenario.run()
    assert status == 0, printed
    assert status_of(data, "<module>") == "grew"
    assert "module-level code above its baseline" in printed
    assert all(
        status_of(data, name) == "same" for name in ("pure", "boxed", "released")
    )  # the lines moved, the figures did not: no line numbers in the baseline


def test_update_of_one_module_keeps_the_others(tmp_path, capsys):
    scenario = Scenario(tmp_path, capsys, extra=["clean"])
    scenario.run("--update-baseline")
    baseline = json.loads(scenario.baseline.read_text())
    baseline["modules"]["clean"]["total"]["score"] = 1  # someone else's entry, not ours to touch
    scenario.baseline.write_text(annotate_report.dump_baseline(baseline))
    scenario.edit(BOXED, "cdef object boxed(double x):\n    print(x)\n    return x\n")

    status, printed, _ = scenario.run("--module", "scores")
    assert status == 1
    assert "--update-baseline --module scores --baseline" in printed  # the exact command
    status, _, _ = scenario.run("--module", "scores", "--update-baseline")
    assert status == 0
    assert scenario.recorded()["clean"]["total"]["score"] == 1
    assert scenario.recorded()["scores"]["boxed"]["score"] > 9
    assert scenario.run()[0] == 1  # clean's regression against its (edited) entry remains


def test_unknown_module_is_refused(scenario, capsys):
    assert annotate.main(["--out", str(scenario.out), "--module", "nope"], scenario.modules) == 2
    assert "--module 'nope': expected one of ['scores']" in capsys.readouterr().err


def test_missing_baseline(scenario):
    status, printed, data = scenario.run()
    assert status == 0
    assert "baseline check skipped: there is no" in printed
    assert "tools/annotate.py --update-baseline" in printed
    assert status_of(data, "boxed") == "unchecked"
    assert scenario.run("--strict")[0] == 1
    assert "baseline check skipped" in (scenario.out / "index.html").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"cython": "3"}', "has no 'modules' object"),
        ('{"modules": {"scores": {"boxed": {"score": "9"}}}}', "scores boxed: expected"),
    ],
)
def test_broken_baseline_is_an_error(scenario, capsys, content, message):
    scenario.baseline.write_text(content)
    argv = ["--out", str(scenario.out), "--baseline", str(scenario.baseline)]
    assert annotate.main(argv, scenario.modules) == 2
    assert message in capsys.readouterr().err


def test_debug_build_is_not_compared_nor_recorded(scenario, monkeypatch, capsys):
    scenario.run("--update-baseline")
    before = scenario.baseline.read_text()
    monkeypatch.setenv("HOTLOOP_CYTHON_DEBUG", "1")
    scenario.edit(BOXED, "cdef object boxed(double x):\n    print(x)\n    return x\n")
    status, printed, data = scenario.run()
    assert status == 0, printed
    assert "baseline check skipped: HOTLOOP_CYTHON_DEBUG=1" in printed
    assert status_of(data, "boxed") == "unchecked"
    argv = ["--out", str(scenario.out), "--baseline", str(scenario.baseline), "--update-baseline"]
    assert annotate.main(argv, scenario.modules) == 2
    assert "unset HOTLOOP_CYTHON_DEBUG" in capsys.readouterr().err
    assert scenario.baseline.read_text() == before


def test_changed_cython_is_named_in_the_failure(scenario):
    scenario.run("--update-baseline")
    baseline = json.loads(scenario.baseline.read_text())
    baseline["cython"] = "0.29.0"
    baseline["directives"]["cdivision"] = False
    baseline["modules"]["scores"]["boxed"]["score"] = 1
    scenario.baseline.write_text(annotate_report.dump_baseline(baseline))
    status, printed, _ = scenario.run()
    assert status == 1
    assert "recorded with Cython 0.29.0, this is Cython" in printed
    assert "directives cdivision differ from the baseline's" in printed


# --------------------------------------------------------------------------------------------
# The pieces


def summary_of(functions, module="m", directives=None):
    return {
        "cython": "3.3.1",
        "directives": directives or {"boundscheck": False},
        "modules": {
            module: {
                "functions": {
                    name: {"py_lines": py, "score": score}
                    for name, (py, score) in functions.items()
                }
            }
        },
    }


def test_compare_statuses():
    recorded = annotate_report.baseline_from_summary(
        summary_of(
            {"same": (1, 5), "up": (1, 5), "down": (2, 9), "gone": (1, 1), "<module>": (1, 8)}
        )
    )
    now = summary_of(
        {"same": (1, 5), "up": (2, 6), "down": (1, 3), "new": (0, 0), "<module>": (2, 20)}
    )
    c = annotate_report.compare(now, recorded, "b.json")
    got = {e.function: (e.status, e.delta) for e in c.entries}
    assert got == {
        "same": ("same", 0),
        "up": ("regressed", 1),
        "down": ("improved", -6),
        "new": ("new", None),
        "<module>": ("grew", 12),
        "gone": ("gone", None),
    }
    assert [e.function for e in c.failures()] == ["up"]
    assert {e.function for e in c.failures(strict=True)} == {
        "up",
        "down",
        "new",
        "gone",
        "<module>",
    }
    assert c.failed() and c.failed(strict=True)

    skipped = annotate_report.compare(now, recorded, "b.json", skip="debug")
    assert {e.status for e in skipped.entries} == {"unchecked"}
    assert not skipped.failed(strict=True)
    assert annotate_report.check_messages(skipped, False) == ["baseline check skipped: debug"]

    missing = annotate_report.compare(now, None, "b.json")
    assert not missing.failed() and missing.failed(strict=True)


def test_baseline_file_format(tmp_path):
    data = summary_of({"b": (1, 2), "a": (3, 4), "<module>": (1, 8)}, module="hotloop._x")
    text = annotate_report.dump_baseline(annotate_report.baseline_from_summary(data))
    parsed = json.loads(text)
    assert list(parsed["modules"]["hotloop._x"]) == ["<module>", "a", "b"]  # sorted: stable diffs
    assert '      "a": {"py_lines": 3, "score": 4},\n' in text  # one function per line
    assert parsed["cython"] == "3.3.1" and parsed["directives"] == {"boundscheck": False}
    path = tmp_path / "b.json"
    path.write_text(text)
    assert annotate_report.load_baseline(path) == parsed
    assert annotate_report.load_baseline(tmp_path / "missing.json") is None


def test_committed_baseline_is_current_format_and_release_directives():
    """tools/annotate_baseline.json: as --update-baseline writes it, for the release build."""
    path = annotate.DEFAULT_BASELINE
    baseline = annotate_report.load_baseline(path)
    assert baseline is not None, f"{path} is missing: run `make annotate-baseline`"
    assert path.read_text() == annotate_report.dump_baseline(baseline)
    release = annotate.hotloop_build.compiler_directives()
    if not annotate.hotloop_build.env_flag("HOTLOOP_CYTHON_DEBUG"):
        assert baseline["directives"] == release, (
            "the build's Cython directives changed: run `make annotate-baseline` and commit "
            f"{path.name} in the same commit"
        )
    assert baseline["modules"], "an empty baseline checks nothing"

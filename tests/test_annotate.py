"""tools.annotate on small fixtures: the nogil check, the baseline check and the report page.

Each fixture in tests/fixtures/annotate/ marks the lines the nogil check must report with
"# VIOLATION"; clean.pyx marks none. The page is static HTML (no script), so its structure is
read with html.parser: a browser would add start-up time and nothing to check.
"""

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tools import annotate

FIXTURES = Path(__file__).parent / "fixtures" / "annotate"


def marked(name):
    text = (FIXTURES / f"{name}.pyx").read_text()
    return [n for n, line in enumerate(text.splitlines(), 1) if line.endswith("# VIOLATION")]


@pytest.mark.parametrize("name", ["clean", "nogil_violation", "prange_error", "exceptions"])
def test_nogil_check_reports_exactly_the_marked_lines(tmp_path, name):
    status, messages = annotate.run({name: FIXTURES / f"{name}.pyx"}, tmp_path, tmp_path / "b")
    where = re.compile(rf"nogil check failed: tests/fixtures/annotate/{name}\.pyx:(\d+): ")
    reported = [int(m[1]) for m in map(where.match, messages) if m]
    assert reported == marked(name)
    assert status == bool(reported)


def test_functions_and_bodies_of_the_clean_fixture(tmp_path):
    functions = annotate.annotate_module("clean", FIXTURES / "clean.pyx", tmp_path).functions
    assert set(functions) == {"<module>", "halve", "total"}
    assert functions["halve"].score == 0
    # the nogil block's statements (28-32) and the prange loop's body (37); not the headers
    # (27, 34-36), whose code takes the GIL back and scores
    assert functions["total"].body_lines == [28, 29, 31, 32, 37]
    assert functions["total"].py_lines[27] > 0


def test_grown_score_fails_the_baseline_until_recorded(tmp_path):
    pyx, baseline, out = tmp_path / "clean.pyx", tmp_path / "baseline.json", tmp_path / "out"
    shutil.copy(FIXTURES / "clean.pyx", pyx)
    modules = {"clean": pyx}
    assert annotate.run(modules, out, baseline, update=True)[0] == 0
    recorded = json.loads(baseline.read_text())
    assert json.loads(annotate.dump_baseline(recorded)) == recorded
    before = recorded["modules"]["clean"]["total"]

    # a Python call in total; a new function, which passes and is listed
    grown = pyx.read_text().replace("    return s + t", "    print(s)\n    return s + t")
    pyx.write_text(grown + "\n\ndef extra():\n    return []\n")
    status, messages = annotate.run(modules, out, baseline)
    assert status == 1
    assert any(m.startswith("baseline check failed: clean: total scores ") for m in messages)
    assert f"baseline {before} (if intended: make annotate-baseline)" in messages[0]
    assert "not in the baseline yet: clean.extra" in messages

    assert annotate.run(modules, out, baseline, update=True)[0] == 0
    now = json.loads(baseline.read_text())
    assert now["modules"]["clean"]["total"] > before
    assert annotate.compare(now, now) == ([], [])
    # a smaller score passes
    assert annotate.compare(recorded, now) == ([], [])
    # figures recorded under other directives are not compared
    assert annotate.compare(now, {**recorded, "directives": {}})[0] == []


def test_cython_errors_fail(tmp_path):
    (tmp_path / "broken.pyx").write_text("def f(:\n")
    with pytest.raises(annotate.AnnotateError, match=r"broken\.pyx"):
        annotate.annotate_module("broken", tmp_path / "broken.pyx", tmp_path)


class Page(HTMLParser):
    """Rows (cell texts and link targets) of each table, keyed by data-module, and all ids."""

    def __init__(self, path):
        super().__init__()
        self.tables, self.ids, self.row, self.links = {}, set(), None, None
        self.feed(path.read_text())

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.ids.add(a.get("id"))
        if tag == "table":
            self.table = self.tables.setdefault(a["data-module"], {})
        elif tag == "tr":
            self.row, self.links, self.bad = [], [], a.get("class") == "bad"
        elif tag in ("td", "th"):
            self.row.append("")
        elif tag == "a" and self.row is not None:
            self.links.append(a["href"])

    def handle_data(self, data):
        if self.row:
            self.row[-1] += data

    def handle_endtag(self, tag):
        if tag == "tr":
            self.table[self.row[0]] = (self.row, self.links, self.bad)
            self.row = None


def test_index_page_rows_and_links(tmp_path):
    modules = {n: FIXTURES / f"{n}.pyx" for n in ("clean", "nogil_violation")}
    annotate.run(modules, tmp_path, tmp_path / "baseline.json", update=True)
    page = Page(tmp_path / "index.html")
    assert set(page.tables) == set(modules)
    cells, links, bad = page.tables["nogil_violation"]["checked_twice"]
    assert bad and cells[1] == cells[2]  # a violation; the score is the baseline's
    assert "16(10)" in cells[3].split()  # line 16 scores 10
    assert "nogil_violation.html#L16" in links
    assert not page.tables["clean"]["total"][2]
    ids = {f"{n}.html": Page(tmp_path / f"{n}.html").ids for n in modules}
    for _, links, _ in (row for table in page.tables.values() for row in table.values()):
        for link in links:
            target, line = link.split("#")
            assert line in ids[target]

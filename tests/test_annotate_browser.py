"""The report page is a real web page: headless Chromium renders its tables, and its links open.

Chromium is Debian's ``chromium`` package, in the Makefile's DEBIAN_PACKAGES, so `make test` (and
CI, through it) installs it. These tests are skipped, saying so, only where no chromium binary
exists; under CI (the CI variable set, as .ci/run does) a missing browser fails them instead.

The page is built from the annotation fixtures so that every state shows: a regression against
the baseline, new functions, nogil violations. Its screenshot is kept as an artefact,
build/artefacts/annotate_index.png (git-ignored), to look at.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "annotate"
ARTEFACTS = ROOT / "build" / "artefacts"
SCREENSHOT = ARTEFACTS / "annotate_index.png"
sys.path.insert(0, str(ROOT / "tools"))
import annotate  # noqa: E402
from report_page import Page  # noqa: E402

WIDTH, HEIGHT = 1280, 2400
# Colours of the page's style sheet (tools/annotate_report.py), as the screenshot must show them.
RED_BG = (0xFD, 0xE7, 0xE6)  # failed verdicts, regressed rows, rows with nogil violations
BLUE_BG = (0xE2, 0xEC, 0xFB)  # new functions
YELLOW_BAR = (0xFF, 0xF0, 0x6A)  # the score bars


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Run headless Chromium with its own throw-away profile; returns its stdout."""
    binary = find_chromium()
    if binary is None:
        reason = (
            "chromium is not installed: it is Debian's `chromium` package, which `make system` "
            "(part of `make test`) installs"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser test")
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-profile")

    def run(*args, timeout=120):
        cmd = [
            binary,
            "--headless",
            # The sandbox needs user namespaces, which containers and root often lack; the page
            # is our own local file.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            *args,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{cmd} exited {result.returncode}:\n{result.stderr[-3000:]}"
        return result.stdout

    return run


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report page of the fixtures: (index.html, summary.json)."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("browser_report")
    scores = tmp / "scores.pyx"
    scores.write_text((FIXTURES / "scores.pyx").read_text())
    argv = ["--out", str(tmp / "out"), "--baseline", str(tmp / "baseline.json")]
    modules = {"scores": scores}
    with contextlib.redirect_stdout(io.StringIO()):
        assert annotate.main([*argv, "--update-baseline"], modules) == 0
        scores.write_text(
            scores.read_text().replace("    return x\n", "    print(x)\n    return x\n", 1)
        )
        modules.update({name: FIXTURES / f"{name}.pyx" for name in ("clean", "nogil_violation")})
        assert annotate.main(argv, modules) == 1  # a regression and violations: both fail
    out = tmp / "out"
    data = json.loads((out / "summary.json").read_text())
    assert data["modules"]["scores"]["functions"]["boxed"]["status"] == "regressed"
    return out / "index.html", data


def test_chromium_renders_the_tables(chromium, report):
    index, data = report
    dom = Page(chromium("--dump-dom", index.as_uri()))
    source = Page(index.read_text())
    # Chromium built the very tables and links the file holds: nothing dropped or moved by a
    # parse error.
    assert dom.tables == source.tables
    assert dom.links == source.links
    assert "annotation report" in dom.title

    modules = {row[0]: row for row in dom.tables["modules"][1:]}
    assert set(modules) == set(data["modules"])
    for module, info in data["modules"].items():
        figures = [str(info[k]) for k in ("py_lines", "score", "nogil_lines", "violations")]
        assert [modules[module][i] for i in (3, 4, 5, 6)] == figures, module
        rows = {row[0]: row for row in dom.tables[module][1:]}
        for name, f in info["functions"].items():
            row = rows[name]
            assert [row[i] for i in (3, 4, 7, 8)] == [
                str(f[k]) for k in ("py_lines", "score", "nogil_lines", "violations")
            ], (module, name)
            assert row[9] == ("" if f["status"] == "same" else f["status"])
        assert rows["module total"][3:5] == figures[:2]
    assert {"nogil-verdict", "baseline-verdict", "violations"} <= dom.ids


def test_links_open_the_annotated_lines(chromium, report):
    index, _ = report
    dom = Page(chromium("--dump-dom", index.as_uri()))
    targets = {}
    for href in dom.links:
        parts = urlsplit(href)
        if not parts.path:
            assert parts.fragment in dom.ids, href  # in-page link
            continue
        targets.setdefault(parts.path, set()).add(parts.fragment)
    assert set(targets) == {f"{name}.html" for name in ("scores", "clean", "nogil_violation")}
    for path, fragments in targets.items():
        url = (index.parent / path).as_uri()
        page = Page(chromium("--dump-dom", url))
        assert page.title == f"Cython: {Path(path).stem}.pyx", path
        assert fragments - {""} <= page.ids, (path, fragments - page.ids)


def test_screenshot(chromium, report):
    index, _ = report
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    chromium(f"--screenshot={SCREENSHOT}", f"--window-size={WIDTH},{HEIGHT}", index.as_uri())
    import matplotlib.image

    pixels = np.round(matplotlib.image.imread(SCREENSHOT)[..., :3] * 255).astype(np.uint8)
    assert pixels.shape == (HEIGHT, WIDTH, 3)

    def count(colour):
        return int(np.all(pixels == colour, axis=-1).sum())

    # The style sheet was applied: the red verdicts and rows, the blue new rows, the score bars.
    assert count(RED_BG) > 20_000, count(RED_BG)
    assert count(BLUE_BG) > 5_000, count(BLUE_BG)
    assert count(YELLOW_BAR) > 500, count(YELLOW_BAR)
    assert count((255, 255, 255)) > pixels.shape[0] * pixels.shape[1] // 3  # a white page
    dark = np.all(pixels < 80, axis=-1).sum()
    assert dark > 20_000, dark  # and text on it

"""Every teaching notebook runs top to bottom on a fresh kernel, without error, within budget.

The notebooks are executed in memory (tools/run_notebooks.py's ``execute``), never rewritten:
`make notebooks` is the command that saves outputs. The committed files must carry outputs.
"""

import sys
from pathlib import Path

import pytest

from tools import run_notebooks

ROOT = Path(__file__).resolve().parents[1]

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = run_notebooks.notebook_paths()


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = listing(path.parent)
    committed = path.read_bytes()
    nb, seconds = run_notebooks.execute(path)  # raises on an error or over budget
    assert seconds <= run_notebooks.BUDGET_S
    print(f"{path.name}: {seconds:.1f} s")
    errors = [
        out
        for cell in code_cells(nb)
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert not errors
    # It left nothing behind: temporary files go to a temporary directory, and this test
    # never writes the notebook.
    assert listing(path.parent) == before
    assert path.read_bytes() == committed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_with_outputs(path):
    """Committed executed, top to bottom: what a code host shows is a real run."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = code_cells(nb)
    assert cells, "a notebook without code"
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name} is not saved from one top-to-bottom run (execution counts {counts}); "
        "run `make notebooks`"
    )
    assert not [o for c in cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert any(c.get("outputs") for c in cells)


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


# The runner itself, on tiny notebooks written here: it must fail when it should.


def tiny_notebook(folder, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_runner_saves_outputs_in_place(tmp_path):
    path = tiny_notebook(tmp_path, "import sys\nprint(sys.executable)", "6 * 7")
    seconds = run_notebooks.run_in_place(path)
    assert 0 < seconds <= run_notebooks.BUDGET_S
    nb = nbformat.read(path, as_version=4)
    first, second = nb.cells
    # The kernel is this interpreter (the project's venv), not some other Python.
    assert first.outputs[0].text.strip() == sys.executable
    assert second.execution_count == 2
    assert second.outputs[0].data["text/plain"] == "42"
    assert "execution" not in second.metadata  # no timing metadata: re-runs diff cleanly


def test_runner_fails_on_error_and_keeps_the_file(tmp_path):
    path = tiny_notebook(tmp_path, "x = 1", "1 / 0", "print('never')")
    committed = path.read_bytes()
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ZeroDivisionError"):
        run_notebooks.run_in_place(path)
    assert path.read_bytes() == committed
    assert run_notebooks.main(["--check", str(path)]) == 1


def test_runner_fails_over_budget(tmp_path):
    path = tiny_notebook(tmp_path, "import time\ntime.sleep(1.5)")
    committed = path.read_bytes()
    with pytest.raises((run_notebooks.NotebookTooSlow, nbclient.exceptions.CellTimeoutError)):
        run_notebooks.run_in_place(path, budget_s=1.0)
    assert path.read_bytes() == committed

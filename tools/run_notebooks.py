"""Execute the teaching notebooks in place and save their outputs (what `make notebooks` runs).

    python tools/run_notebooks.py [NOTEBOOK ...] [--check] [--budget SECONDS]

Notebooks are committed *with* their outputs, so that they read well on a code host. This
command re-executes each one (default: every notebooks/*.ipynb) top to bottom on a fresh
Jupyter kernel of this Python (the ``python3`` kernel, which jupyter_client starts with
``sys.executable``: run it with the project's .venv/bin/python), with the notebook's folder as
working directory, and writes the result back to the same file. A notebook is written only when
every cell ran without error and the whole run, kernel start included, took at most the budget
(default 120 s, the issue's limit on this machine); otherwise the file is left untouched and the
exit status is 1.

``--check`` executes without writing anything: what tests/test_notebooks.py does.

Cell timing metadata is not recorded, so a re-run changes only what the cells print.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
BUDGET_S = 120.0
KERNEL = "python3"


class NotebookTooSlow(RuntimeError):
    """A notebook ran without error but took longer than its budget."""


def notebook_paths(args: list[str] | None = None) -> list[Path]:
    """The notebooks named in args, or every notebooks/*.ipynb, sorted."""
    if args:
        return [Path(a).resolve() for a in args]
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def execute(path: Path, *, budget_s: float = BUDGET_S):
    """Run the notebook at path on a fresh kernel, in memory.

    Returns ``(notebook, seconds)``: the executed notebook (an nbformat NotebookNode holding
    the outputs; the file itself is not touched) and the wall time of the run, kernel start
    included. Raises nbclient's ``CellExecutionError`` on the first failing cell,
    ``CellTimeoutError`` when one cell runs past the budget, and ``NotebookTooSlow`` when all
    cells together do.
    """
    import nbclient
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=max(1, int(budget_s)),
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    if seconds > budget_s:
        raise NotebookTooSlow(
            f"{path.name} took {seconds:.1f} s on a fresh kernel; the budget is {budget_s:.0f} s"
        )
    return nb, seconds


def run_in_place(path: Path, *, budget_s: float = BUDGET_S) -> float:
    """Execute the notebook at path and, when it passes, overwrite it with its outputs."""
    import nbformat

    nb, seconds = execute(path, budget_s=budget_s)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="execute only, write nothing")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds per notebook")
    args = parser.parse_args(argv)

    paths = notebook_paths(args.notebooks)
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        print(f"{path.name}: ", end="", flush=True)
        try:
            if args.check:
                _, seconds = execute(path, budget_s=args.budget)
            else:
                seconds = run_in_place(path, budget_s=args.budget)
        except Exception as exc:  # report every notebook, then fail
            failed += 1
            first = str(exc).strip().splitlines()
            print(f"FAILED ({type(exc).__name__}: {first[0] if first else ''})")
            print(str(exc), file=sys.stderr)
            continue
        print(f"{seconds:.1f} s" + ("" if args.check else ", saved"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

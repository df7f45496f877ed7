"""hotloop's showcase benchmarks, importable from the repository root: ``python -m
benchmarks.showcase`` runs them (see benchmarks/README.md)."""

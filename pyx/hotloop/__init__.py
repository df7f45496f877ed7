"""hotloop: fast, accurate compute kernels for NumPy.

C++ kernels, Cython wrappers that release the GIL, OpenMP threads. Every kernel is checked
against an independent reference; see the README and benchmarks/RESULTS.md.
"""

try:
    from hotloop import deviceapps, records
    from hotloop._diffusion import diffuse, evolve
    from hotloop._errors import HotloopError
    from hotloop._fib import fib, fib_fast
    from hotloop._julia import julia, julia_grid, mandelbrot_grid
    from hotloop._moments import RunningStats, mean, nanmean, nanstd, nanvar, std, var
    from hotloop._rolling import (
        ewm_corr,
        ewm_cov,
        ewm_mean,
        ewm_std,
        ewm_var,
        move_argmax,
        move_argmin,
        move_exp_nancorr,
        move_exp_nancount,
        move_exp_nancov,
        move_exp_nanmean,
        move_exp_nanstd,
        move_exp_nansum,
        move_exp_nanvar,
        move_max,
        move_mean,
        move_median,
        move_min,
        move_rank,
        move_std,
        move_sum,
        move_var,
        rolling_argmax,
        rolling_argmin,
        rolling_corr,
        rolling_count,
        rolling_cov,
        rolling_kurt,
        rolling_max,
        rolling_mean,
        rolling_median,
        rolling_min,
        rolling_quantile,
        rolling_rank,
        rolling_sem,
        rolling_skew,
        rolling_std,
        rolling_sum,
        rolling_var,
    )
    from hotloop._threads import effective_n_threads, openmp_enabled, simd_level
    from hotloop._wsmask import ws_mask
except ImportError as exc:
    # A compiled module whose shared library is missing (a source build whose libdeflate or
    # liblz4 was removed, a damaged wheel): name the package to install, not a file.
    from hotloop._native import clearer_import_error

    clearer = clearer_import_error(exc)
    if clearer is None:
        raise
    raise clearer from exc

__version__ = "0.1.0"

__all__ = [
    "HotloopError",
    "RunningStats",
    "deviceapps",
    "diffuse",
    "effective_n_threads",
    "evolve",
    "ewm_corr",
    "ewm_cov",
    "ewm_mean",
    "ewm_std",
    "ewm_var",
    "fib",
    "fib_fast",
    "julia",
    "julia_grid",
    "mandelbrot_grid",
    "mean",
    "move_argmax",
    "move_argmin",
    "move_exp_nancorr",
    "move_exp_nancount",
    "move_exp_nancov",
    "move_exp_nanmean",
    "move_exp_nanstd",
    "move_exp_nansum",
    "move_exp_nanvar",
    "move_max",
    "move_mean",
    "move_median",
    "move_min",
    "move_rank",
    "move_std",
    "move_sum",
    "move_var",
    "nanmean",
    "nanstd",
    "nanvar",
    "openmp_enabled",
    "records",
    "rolling_argmax",
    "rolling_argmin",
    "rolling_corr",
    "rolling_count",
    "rolling_cov",
    "rolling_kurt",
    "rolling_max",
    "rolling_mean",
    "rolling_median",
    "rolling_min",
    "rolling_quantile",
    "rolling_rank",
    "rolling_sem",
    "rolling_skew",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
    "show_config",
    "simd_level",
    "std",
    "var",
    "ws_mask",
]


def show_config() -> dict:
    """Return (and print) how this hotloop was built and what it uses on this machine.

    Keys: ``hotloop``, ``numpy``, ``openmp`` (built with OpenMP), ``threads (n_threads=None)``,
    ``simd`` (the SIMD path in use); ``install`` (a binary wheel, a wheel built from source on
    this machine, or a source tree), ``build`` (compiler, Python ABI, modules built and
    skipped), ``libraries`` (the versions of the C libraries the build compiled against),
    ``bundled`` (the shared libraries a binary wheel ships in ``hotloop.libs``), ``loaded``
    (where this process loaded each of them from, with the run-time version where the library
    reports one), ``openmp runtime`` (every OpenMP runtime mapped into this process: more
    than one means two OpenMP libraries share the process, each with its own threads) and
    ``notes`` (what this build lacks and what to install for it: a build without OpenMP runs
    every kernel on one thread; a module the build skipped; empty for a complete build).
    """
    import numpy

    from hotloop import _config

    info = {
        "hotloop": __version__,
        "numpy": numpy.__version__,
        "openmp": openmp_enabled(),
        "threads (n_threads=None)": effective_n_threads(None),
        "simd": simd_level(),
        **_config.details(),
    }
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key:>26}:")
            for k, v in value.items():
                print(f"{'':>28}{k}: {v}")
        elif key == "notes" and value:
            print(f"{key:>26}:")
            for note in value:
                print(f"{'':>28}- {note}")
        elif isinstance(value, list):
            print(f"{key:>26}: {', '.join(map(str, value)) or '-'}")
        else:
            print(f"{key:>26}: {value}")
    return info

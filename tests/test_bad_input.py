"""One table of bad input for every public function: the exception type, and a message that
names the argument and the values it accepts.

Every function checks its arguments through hotloop._validate, so each class of bad input
(a bool for a count, 2**64 + 3, a NaN parameter, a list of strings, a read-only out, ...) is
refused the same way everywhere, by the Cython functions and by hotloop.ffi alike. Arrays
whose dtype is float64/float32/complex128 by value (unpickled, byte-swapped) are accepted.
"""

import pickle

import hotloop
import numpy as np
import pytest
from hotloop import deviceapps, ffi

KEY = b"\x37\xfa\x21\x3d"
F = np.linspace(1.0, 2.0, 8)
Z = np.linspace(-1.0, 1.0, 6) + 0.25j
G = np.linspace(0.0, 1.0, 25).reshape(5, 5)
RECORD = {"device": {"type": "idfa", "id": "e7e1"}, "lat": 1.5, "lon": -2.5, "apps": [1, 2]}


ROLLING = (
    "sum",
    "mean",
    "var",
    "std",
    "count",
    "min",
    "max",
    "argmin",
    "argmax",
    "median",
    "quantile",
    "rank",
)
MOVE = ("sum", "mean", "var", "std", "min", "max", "argmin", "argmax", "median", "rank")
EWM = ("mean", "var", "std", "cov", "corr")
MOVE_EXP = ("nanmean", "nansum", "nanvar", "nanstd", "nancount", "nancov", "nancorr")


def positional_first(fn):
    """numbagg's move_exp_* take their arrays positionally only; the table passes keywords."""

    def call(a, b=None, **kw):
        return fn(a, **kw) if b is None else fn(a, b, **kw)

    call.__name__ = fn.__name__
    return call


def running_stats(method):
    def call(**kw):
        rs = hotloop.RunningStats()
        rs.extend([1.0, 2.0, 4.0])
        return getattr(rs, method)(**kw)

    call.__name__ = f"RunningStats.{method}"
    return call


def write_file(**kw):
    return deviceapps.write(**kw)


# name: (callable, good keyword arguments, {argument: kind}). The kinds are the rows of BAD.
FUNCTIONS = {
    "mean": (hotloop.mean, {"x": F}, {"x": "floats1"}),
    "nanmean": (hotloop.nanmean, {"x": F}, {"x": "floats1"}),
    **{
        name: (getattr(hotloop, name), {"x": F, "ddof": 1}, {"x": "floats1", "ddof": "count0"})
        for name in ("var", "std", "nanvar", "nanstd")
    },
    **{
        f"rolling_{s}": (
            getattr(hotloop, f"rolling_{s}"),
            {"x": F, "window": 3, "min_periods": 2, "axis": -1, "out": None, "n_threads": 1}
            | ({"ddof": 1} if s in ("var", "std") else {})
            | ({"q": 0.5, "interpolation": "linear"} if s == "quantile" else {}),
            {
                "x": "floats_nd",
                "window": "count1",
                "min_periods": "count0",
                "axis": "axis",
                "out": "out",
                "n_threads": "threads",
            }
            | ({"ddof": "count0"} if s in ("var", "std") else {})
            | ({"q": "quantile", "interpolation": "interpolation"} if s == "quantile" else {}),
        )
        for s in ROLLING
    },
    **{
        f"move_{s}": (
            getattr(hotloop, f"move_{s}"),
            {"a": F, "window": 3, "min_count": 2, "axis": -1}
            | ({"ddof": 1} if s in ("var", "std") else {}),
            {"a": "floats_nd", "window": "window_move", "min_count": "count1", "axis": "axis"}
            | ({"ddof": "count0"} if s in ("var", "std") else {}),
        )
        for s in MOVE
    },
    **{
        f"ewm_{s}": (
            getattr(hotloop, f"ewm_{s}"),
            {
                "x": F,
                "alpha": 0.5,
                "adjust": True,
                "min_periods": 2,
                "axis": -1,
                "out": None,
                "n_threads": 1,
            }
            | ({"y": F} if s in ("cov", "corr") else {})
            | ({"bias": False} if s in ("var", "std", "cov") else {}),
            {
                "x": "floats_nd",
                "alpha": "ewm_alpha",
                "com": "ewm_second",
                "adjust": "flag",
                "min_periods": "count0",
                "axis": "axis",
                "out": "out",
                "n_threads": "threads",
            }
            | ({"y": "ewm_y"} if s in ("cov", "corr") else {})
            | ({"bias": "flag"} if s in ("var", "std", "cov") else {}),
        )
        for s in EWM
    },
    "ewm_std(span)": (hotloop.ewm_std, {"x": F, "span": 3}, {"span": "ewm_span"}),
    "ewm_mean(com)": (hotloop.ewm_mean, {"x": F, "com": 0.0}, {"com": "ewm_com"}),
    "ewm_var(halflife)": (
        hotloop.ewm_var,
        {"x": F, "halflife": 2.5},
        {"halflife": "ewm_halflife", "ignore_na": "flag"},
    ),
    **{
        f"move_exp_{s}": (
            positional_first(getattr(hotloop, f"move_exp_{s}")),
            {"a": F, "alpha": 0.5, "min_weight": 0.1, "axis": -1}
            | ({"b": F} if s in ("nancov", "nancorr") else {}),
            {"a": "floats_nd", "alpha": "exp_alpha", "min_weight": "real", "axis": "axis"}
            | ({"b": "exp_b"} if s in ("nancov", "nancorr") else {}),
        )
        for s in MOVE_EXP
    },
    "julia": (
        hotloop.julia,
        {"zs": Z, "cs": 0.3j, "maxiter": 20, "n_threads": 1},
        {"zs": "complexes", "cs": "complex", "maxiter": "int32", "n_threads": "threads"},
    ),
    "julia_grid": (
        hotloop.julia_grid,
        {"c": 0.3j, "width": 4, "height": 3, "xlim": (-1, 1), "ylim": (-1, 1), "maxiter": 9},
        {
            "c": "complex",
            "width": "count1",
            "height": "count1",
            "xlim": "pair",
            "ylim": "pair",
            "maxiter": "int32",
        },
    ),
    "mandelbrot_grid": (
        hotloop.mandelbrot_grid,
        {"width": 4, "height": 3, "xlim": (-2, 1), "ylim": (-1, 1), "maxiter": 9, "n_threads": 1},
        {
            "width": "count1",
            "height": "count1",
            "xlim": "pair",
            "ylim": "pair",
            "maxiter": "int32",
            "n_threads": "threads",
        },
    ),
    "fib": (hotloop.fib, {"n": 10}, {"n": "count0"}),
    "fib_fast": (hotloop.fib_fast, {"n": 10}, {"n": "count0"}),
    "ws_mask": (
        hotloop.ws_mask,
        {"data": b"12345678", "key": KEY, "offset": 3, "out": None, "n_threads": 1},
        {
            "data": "bytes",
            "key": "key",
            "offset": "offset",
            "out": "bytes_out",
            "n_threads": "threads",
        },
    ),
    "evolve": (
        hotloop.evolve,
        {"grid": G, "out": np.zeros((5, 5)), "D": 1.0, "dt": 0.1},
        {"grid": "grid", "out": "out_separate", "D": "real", "dt": "real"},
    ),
    "diffuse": (
        hotloop.diffuse,
        {"grid": G, "steps": 2, "D": 1.0, "dt": 0.1, "n_threads": 1},
        {"grid": "grid", "steps": "count0", "D": "real", "dt": "real", "n_threads": "threads"},
    ),
    "effective_n_threads": (
        hotloop.effective_n_threads,
        {"n_threads": 1},
        {"n_threads": "threads"},
    ),
    "RunningStats.var": (running_stats("var"), {"ddof": 1}, {"ddof": "count0"}),
    "RunningStats.std": (running_stats("std"), {"ddof": 1}, {"ddof": "count0"}),
    "RunningStats.push": (running_stats("push"), {"value": 1.0}, {"value": "value"}),
    "RunningStats.extend": (running_stats("extend"), {"values": F}, {"values": "floats1"}),
    "RunningStats.merge": (
        running_stats("merge"),
        {"other": hotloop.RunningStats()},
        {"other": "running_stats"},
    ),
    "deviceapps.write": (
        write_file,
        {"records": [RECORD], "path": None, "level": 6, "n_threads": 1, "block_size": 4096},
        {"level": "level", "block_size": "block_size", "n_threads": "threads", "path": "path"},
    ),
    "deviceapps.read": (deviceapps.read, {"path": None}, {"path": "path"}),
    "deviceapps.member_ranges": (
        deviceapps.member_ranges,
        {"path": None, "target_bytes": 1},
        {"path": "path", "target_bytes": "count1"},
    ),
    "deviceapps.encode_message": (
        deviceapps.encode_message,
        {"record": RECORD},
        {"record": "record"},
    ),
    "deviceapps.decode_message": (
        deviceapps.decode_message,
        {"data": deviceapps.encode_message(RECORD)},
        {"data": "bytes"},
    ),
}

# The shape statistics (skew, kurt, sem) and the pair statistics (cov, corr) of the rolling
# family: the rolling_* arguments, y like x.
ROLLING_KW = {"x": F, "window": 3, "min_periods": 2, "axis": -1, "out": None, "n_threads": 1}
ROLLING_KINDS = {
    "x": "floats_nd",
    "window": "count1",
    "min_periods": "count0",
    "axis": "axis",
    "out": "out",
    "n_threads": "threads",
}
FUNCTIONS.update(
    {
        f"rolling_{s}": (
            getattr(hotloop, f"rolling_{s}"),
            ROLLING_KW | ({"ddof": 1} if s == "sem" else {}),
            ROLLING_KINDS | ({"ddof": "count0"} if s == "sem" else {}),
        )
        for s in ("skew", "kurt", "sem")
    }
    | {
        f"rolling_{s}": (
            getattr(hotloop, f"rolling_{s}"),
            ROLLING_KW | {"y": F[::-1].copy(), "ddof": 1},
            ROLLING_KINDS | {"y": "floats_nd", "ddof": "count0"},
        )
        for s in ("cov", "corr")
    }
)

# hotloop.ffi's functions: the same signatures without n_threads and axis; its rolling
# functions take 1-D and 2-D float arrays only (hotloop's also integers and N-D).
FFI = {
    name: (
        getattr(ffi, name),
        {k: v for k, v in FUNCTIONS[name][1].items() if k not in ("n_threads", "axis")},
        {
            k: "floats_common" if v == "floats_nd" else v
            for k, v in FUNCTIONS[name][2].items()
            if k not in ("n_threads", "axis")
        },
    )
    for name in (
        "mean",
        "var",
        "std",
        "rolling_mean",
        "rolling_var",
        "rolling_std",
        "julia",
        "fib",
        "fib_fast",
        "ws_mask",
        "evolve",
    )
}

RO = np.zeros(8)
RO.flags.writeable = False
INT = r"{arg} must be (an int, got .*accepted: integers|>= -?\d+|between -?\d+ and \d+)"
NOT_INT = r"{arg} must be an int, got {got}.*accepted: integers (>=|between)"
REAL = r"{arg} must be a (real|complex) number .*got {got}"
# An int beyond the float64 range in a list: the item, the value abbreviated, the range.
HUGE_ITEM = (
    "int beyond float64",
    [1.0, 10**400],
    OverflowError,
    r"{arg}\[1\] is too large for a float64: got 1000000000\.\.\.0000 \(401 digits\); "
    r"accepted: finite float64 values, magnitudes up to 1\.797",
)

# kind: [(case, bad value, exception, message regex)]. {arg} is the argument's name.
COUNT = [
    ("str number", "3", TypeError, NOT_INT.replace("{got}", "str")),
    ("bool", True, TypeError, NOT_INT.replace("{got}", "bool")),
    ("numpy bool", np.True_, TypeError, NOT_INT.replace("{got}", "bool")),
    ("float", 3.0, TypeError, NOT_INT.replace("{got}", "float")),
    ("negative", -1, ValueError, INT + r", got -1"),
    ("huge negative", -(2**70), ValueError, INT + r", got -1180591620717411303424"),
    ("2**64 + 3", 2**64 + 3, OverflowError, INT + r", got 18446744073709551619 .too large"),
    ("10**5000", 10**5000, OverflowError, INT + r", got an int of 16610 bits"),
]
BAD = {
    "count0": COUNT,
    "count1": [*COUNT, ("zero", 0, ValueError, r"{arg} must be >= 1, got 0")],
    "int32": [*COUNT, ("2**31", 2**31, ValueError, r"{arg} must be between 0 and 2147483647")],
    "level": [*COUNT, ("13", 13, ValueError, r"level must be between 0 and 12, got 13")],
    "block_size": [*COUNT, ("zero", 0, ValueError, r"block_size must be between 1 and \d+")],
    "offset": [c for c in COUNT if c[0] not in ("2**64 + 3", "10**5000")],
    "threads": [
        ("str number", "2", TypeError, r"n_threads must be None or an int, got str"),
        ("bool", True, TypeError, r"n_threads must be None or an int, got bool"),
        ("float", 2.0, TypeError, r"n_threads must be None or an int, got float"),
        ("zero", 0, ValueError, r"n_threads=0 is not a thread count; use None .*positive"),
    ],
    "real": [
        ("str number", "2", TypeError, REAL.replace("{got}", "str")),
        ("bytes", b"2", TypeError, REAL.replace("{got}", "bytes")),
        ("bool", True, TypeError, REAL.replace("{got}", "bool")),
        ("numpy bool", np.False_, TypeError, REAL.replace("{got}", "bool")),
        ("complex", 1j, TypeError, REAL.replace("{got}", "complex")),
        ("None", None, TypeError, REAL.replace("{got}", "NoneType")),
        ("nan", float("nan"), ValueError, r"{arg} must be finite, got nan"),
        ("inf", np.inf, ValueError, r"{arg} must be finite, got inf"),
    ],
    "complex": [
        ("str number", "1", TypeError, REAL.replace("{got}", "str")),
        ("bool", True, TypeError, REAL.replace("{got}", "bool")),
        ("None", None, TypeError, REAL.replace("{got}", "NoneType")),
        ("nan", complex(0, np.nan), ValueError, r"{arg} must be finite, got"),
        ("inf", np.inf, ValueError, r"{arg} must be finite, got"),
    ],
    "pair": [
        ("str", "ab", TypeError, r"{arg} must be a pair of real numbers \(lo, hi\), got str"),
        ("scalar", 3, TypeError, r"{arg} must be a pair of real numbers \(lo, hi\), got int"),
        ("triple", (0, 1, 2), TypeError, r"{arg} must be a pair of real numbers"),
        ("str numbers", ("0", "1"), TypeError, r"{arg}\[0\] must be a real number"),
        ("nan", (0, np.nan), ValueError, r"{arg}\[1\] must be finite"),
        ("reversed", (1, -1), ValueError, r"{arg} must have lo < hi"),
    ],
    "floats1": [
        (
            "int dtype",
            np.arange(8),
            TypeError,
            r"{arg} must be an ndarray of dtype float64 or float32",
        ),
        (
            "complex dtype",
            F.astype(complex),
            TypeError,
            r"dtype float64 or float32.*got .*complex128",
        ),
        ("float16", F.astype(np.float16), TypeError, r"dtype float64 or float32.*got .*float16"),
        ("str numbers", ["1", "2"], TypeError, r"{arg}(\[0\])? must (be a|hold) real number"),
        ("None item", [1.0, None], TypeError, r"{arg}(\[1\])? must (be a|hold) real number"),
        HUGE_ITEM,
        (
            "str",
            "12",
            TypeError,
            r"{arg}(\[0\])? must be (an ndarray of dtype float64|a real number)",
        ),
        ("None", None, TypeError, r"{arg} must be an ndarray of dtype float64 or float32"),
        ("2-D", np.ones((2, 4)), ValueError, r"{arg} must be 1-D, got 2-D"),
        ("0-D", np.float64(1.0), ValueError, r"{arg} must be 1-D, got 0-D"),
    ],
    "floats2": [
        (
            "int dtype",
            np.arange(8),
            TypeError,
            r"{arg} must be an ndarray of dtype float64 or float32",
        ),
        ("str numbers", ["1", "2"], TypeError, r"{arg} must hold real numbers"),
        HUGE_ITEM,
        ("3-D", np.ones((2, 2, 2)), ValueError, r"{arg} must be 1-D to 2-D, got 3-D"),
    ],
    "floats_nd": [
        (
            "complex dtype",
            F.astype(complex),
            TypeError,
            r"{arg} must be an ndarray of dtype float64 or float32.*got .*complex128",
        ),
        ("float16", F.astype(np.float16), TypeError, r"dtype float64 or float32.*got .*float16"),
        ("str numbers", ["1", "2"], TypeError, r"{arg} must hold real numbers"),
        HUGE_ITEM,
        ("None", None, TypeError, r"{arg} must be an ndarray of dtype float64 or float32"),
        ("0-D", np.float64(1.0), ValueError, r"{arg} must be 1-D to 64-D, got 0-D"),
    ],
    "floats_common": [
        ("complex dtype", F.astype(complex), TypeError, r"{arg} must be an ndarray of dtype"),
        ("str numbers", ["1", "2"], TypeError, r"{arg} must hold real numbers"),
        HUGE_ITEM,
    ],
    "axis": [
        ("float", 1.0, TypeError, r"axis must be an int, got float; accepted: integers -1 <="),
        ("bool", True, TypeError, r"axis must be an int, got bool"),
        ("None", None, TypeError, r"axis must be an int, got NoneType"),
        ("1", 1, ValueError, r"axis=1 is out of range for a 1-D \w+; accepted: -1 <= axis < 1"),
        ("-2", -2, ValueError, r"axis=-2 is out of range for a 1-D \w+; accepted: -1 <= axis"),
    ],
    "window_move": [
        *COUNT,
        ("zero", 0, ValueError, r"window must be >= 1, got 0"),
        ("longer", 9, ValueError, r"window=9 must be between 1 and 8 .*accepted: 1 <= window <= 8"),
    ],
    "quantile": [
        ("1.5", 1.5, ValueError, r"q=1.5 is outside \[0, 1\]; accepted: 0 <= q <= 1"),
        ("-0.5", -0.5, ValueError, r"q=-0.5 is outside \[0, 1\]"),
        ("nan", float("nan"), ValueError, r"q must be finite, got nan"),
        ("str number", "0.5", TypeError, REAL.replace("{got}", "str")),
    ],
    "interpolation": [
        (
            "cubic",
            "cubic",
            ValueError,
            r"interpolation='cubic' is not supported; accepted: 'linear'",
        ),
        ("None", None, ValueError, r"interpolation=None is not supported; accepted: 'linear'"),
    ],
    "ewm_alpha": [
        ("zero", 0, ValueError, r"alpha=0.0 is outside \(0, 1\]; accepted: 0 < alpha <= 1"),
        ("1.5", 1.5, ValueError, r"alpha=1.5 is outside \(0, 1\]; accepted: 0 < alpha <= 1"),
        ("negative", -0.5, ValueError, r"alpha=-0.5 is outside \(0, 1\]"),
        ("nan", float("nan"), ValueError, r"alpha must be finite, got nan"),
        ("str number", "0.5", TypeError, REAL.replace("{got}", "str")),
        ("bool", True, TypeError, REAL.replace("{got}", "bool")),
    ],
    "ewm_second": [
        (
            "two of them",
            3.0,
            ValueError,
            r"pass exactly one of com, span, halflife, alpha \(they are mutually exclusive\), "
            r"got com=3.0, alpha=0.5",
        ),
    ],
    "ewm_span": [
        ("0.5", 0.5, ValueError, r"span=0.5 must be >= 1; accepted: span >= 1"),
        ("negative", -3, ValueError, r"span=-3.0 must be >= 1; accepted: span >= 1"),
        ("inf", np.inf, ValueError, r"span must be finite, got inf"),
        ("None", None, ValueError, r"pass exactly one of com, span, halflife, alpha .*got none"),
    ],
    "ewm_com": [
        ("negative", -1, ValueError, r"com=-1.0 must be >= 0; accepted: com >= 0"),
        ("str", "1", TypeError, REAL.replace("{got}", "str")),
    ],
    "ewm_halflife": [
        ("zero", 0, ValueError, r"halflife=0.0 must be > 0; accepted: halflife > 0"),
        ("negative", -2.0, ValueError, r"halflife=-2.0 must be > 0"),
    ],
    "ewm_y": [
        (
            "shape",
            np.ones(7),
            ValueError,
            r"x and y must have the same shape, got \(8,\) and \(7,\)",
        ),
        ("str numbers", ["1", "2"], TypeError, r"y must hold real numbers"),
        ("complex", F.astype(complex), TypeError, r"y must be an ndarray of dtype float64"),
    ],
    "exp_b": [
        ("shape", np.ones((2, 8)), ValueError, r"a and b must have the same shape, got \(8,\) and"),
    ],
    "exp_alpha": [
        ("1.5", 1.5, ValueError, r"alpha=1.5 is outside \[0, 1\]; accepted: 0 <= alpha <= 1"),
        ("negative", -0.1, ValueError, r"alpha=-0.1 is outside \[0, 1\]"),
        (
            "array outside",
            np.full(8, 2.0),
            ValueError,
            r"alpha holds 2.0, outside \[0, 1\]; accepted: 0 <= alpha <= 1",
        ),
        ("nan array", np.full(8, np.nan), ValueError, r"alpha holds nan, outside \[0, 1\]"),
        (
            "length",
            np.full(7, 0.5),
            ValueError,
            r"alpha of shape \(7,\) does not fit a of shape \(8,\); accepted: a scalar",
        ),
        ("nan", float("nan"), ValueError, r"alpha must be finite, got nan"),
        ("str number", "0.5", TypeError, REAL.replace("{got}", "str")),
    ],
    "flag": [
        ("int", 1, TypeError, r"{arg} must be True or False, got int: 1"),
        ("str", "yes", TypeError, r"{arg} must be True or False, got str"),
        ("None", None, TypeError, r"{arg} must be True or False, got NoneType"),
    ],
    "grid": [
        (
            "int dtype",
            np.zeros((5, 5), int),
            TypeError,
            r"{arg} must be an ndarray of dtype float64",
        ),
        ("str numbers", [["1"] * 3] * 3, TypeError, r"{arg} must hold real numbers"),
        ("1-D", np.zeros(25), ValueError, r"{arg} must be 2-D, got 1-D"),
        ("2 x 9", np.zeros((2, 9)), ValueError, r"{arg} must be at least 3 x 3"),
    ],
    "complexes": [
        ("float dtype", Z.real.copy(), TypeError, r"{arg} must have dtype complex128, got float64"),
        ("str numbers", ["1", "2"], TypeError, r"{arg} must hold complex numbers"),
        ("str", "12", TypeError, r"{arg} must be a complex128 ndarray, a list or a tuple"),
    ],
    "out": [
        ("list", [0.0] * 8, TypeError, r"out must be a NumPy array of dtype float64 and shape"),
        ("dtype", np.zeros(8, np.float32), TypeError, r"out must have dtype float64 like x"),
        ("shape", np.zeros(7), ValueError, r"out must have shape \(8,\) like x, got \(7,\)"),
        ("read-only", RO, ValueError, r"out is read-only; pass a writable array"),
        (
            "strides",
            np.zeros(8, "f8,u1")["f0"],
            ValueError,
            r"out must have strides that are whole",
        ),
    ],
    "out_separate": [
        ("list", [[0.0] * 5] * 5, TypeError, r"out must be a NumPy array of dtype float64"),
        (
            "dtype",
            np.zeros((5, 5), np.float32),
            TypeError,
            r"out must have dtype float64 like grid",
        ),
        ("shape", np.zeros((5, 6)), ValueError, r"out must have shape \(5, 5\) like grid"),
        ("read-only", np.broadcast_to(0.0, (5, 5)), ValueError, r"out is read-only"),
        ("same as grid", G, ValueError, r"out must not share memory with grid"),
    ],
    "bytes": [
        ("str", "12345678", TypeError, r"{arg} must be bytes, bytearray, memoryview or a uint8"),
        ("None", None, TypeError, r"{arg} must be bytes, bytearray, memoryview or a uint8"),
        ("float array", np.zeros(1), TypeError, r"{arg} must hold bytes \(format 'B', 'b' or 'c'"),
        ("strided", np.zeros(16, np.uint8)[::2], ValueError, r"{arg} must be C-contiguous"),
    ],
    "bytes_out": [
        ("str", "12345678", TypeError, r"out must be bytes, bytearray, memoryview or a uint8"),
        ("read-only", b"\0" * 8, ValueError, r"out is read-only \(bytes\); pass a bytearray"),
        ("length", bytearray(7), ValueError, r"out must have 8 bytes like data, got 7"),
    ],
    "key": [
        (
            "str",
            "abcd",
            TypeError,
            r"key must be 4 bytes \(bytes, bytearray, memoryview\), got str",
        ),
        ("int", 0x37FA213D, TypeError, r"key must be 4 bytes .*got int"),
        ("3 bytes", b"abc", ValueError, r"key must be exactly 4 bytes, got 3"),
    ],
    "value": [
        ("str", "1.0", TypeError, r"value must be a real number, got str.*accepted: float, int"),
        ("None", None, TypeError, r"value must be a real number, got NoneType.*accepted"),
        (
            "10**400",
            10**400,
            OverflowError,
            r"value is too large for a float64: got 1000000000\.\.\.0000 \(401 digits\); "
            "accepted: finite float64",
        ),
    ],
    "running_stats": [
        ("None", None, TypeError, r"'other' has incorrect type \(expected .*RunningStats"),
        ("list", [1.0], TypeError, r"'other' has incorrect type \(expected .*RunningStats"),
        (
            "skipna",
            hotloop.RunningStats(skipna=True),
            ValueError,
            r"cannot merge skipna=True into skipna=False",
        ),
    ],
    "path": [
        ("int", 5, TypeError, r"path must be a str, bytes or os\.PathLike, got int"),
        ("NUL", "a\0b", ValueError, r"path must not contain NUL bytes"),
    ],
    "record": [
        ("int", 5, TypeError, r"record 0 must be a dict, got int"),
        ("bool app", {"apps": [True]}, TypeError, r"record 0: apps\[0\] must be an int, got bool"),
        ("str lat", {"lat": "1.5"}, TypeError, r"record 0: lat must be a real number, got str"),
    ],
}


def call(entry, tmp_path, **changes):
    fn, kwargs, _ = entry
    kw = {**kwargs, **changes}
    if "path" in kw and kw["path"] is None:
        path = tmp_path / "records.pb.gz"
        if fn in (deviceapps.read, deviceapps.member_ranges) and not path.exists():
            deviceapps.write([RECORD], path)
        kw["path"] = path
    return fn(**kw)


def cases(table):
    return list(_cases(table))


def _cases(table):
    for name, (_, _, kinds) in table.items():
        for arg, kind in kinds.items():
            for case, value, exc, match in BAD[kind]:
                if exc is not None:
                    yield pytest.param(name, arg, value, exc, match, id=f"{name}-{arg}-{case}")


@pytest.mark.parametrize(("name", "arg", "value", "exc", "match"), cases(FUNCTIONS))
def test_bad_input(tmp_path, name, arg, value, exc, match):
    call(FUNCTIONS[name], tmp_path)  # the good call works
    with pytest.raises(exc, match=match.replace("{arg}", arg.replace("[", r"\["))):
        call(FUNCTIONS[name], tmp_path, **{arg: value})


@pytest.mark.parametrize(("name", "arg", "value", "exc", "match"), cases(FFI))
def test_ffi_bad_input(tmp_path, name, arg, value, exc, match):
    """hotloop.ffi refuses what hotloop refuses, with the same exception type and message rule."""
    call(FFI[name], tmp_path)
    with pytest.raises(exc, match=match.replace("{arg}", arg)):
        call(FFI[name], tmp_path, **{arg: value})
    with pytest.raises(exc) as cython_error:
        call(FUNCTIONS[name], tmp_path, **{arg: value})
    assert type(cython_error.value) is exc


def test_cross_argument_rules(tmp_path):
    """Rules between arguments: named with both values and the accepted range."""
    for fn in (hotloop.std, hotloop.var, ffi.std, ffi.var):
        with pytest.raises(ValueError, match=r"ddof=8 must be less than the number of values"):
            fn(F, ddof=8)
    for fn in (hotloop.rolling_std, ffi.rolling_std):
        with pytest.raises(ValueError, match=r"ddof=3 must be less than window=3; accepted"):
            fn(F, 3, ddof=3)
        with pytest.raises(ValueError, match=r"min_periods=4 must be <= window=3; accepted"):
            fn(F, 3, min_periods=4)
    for fn in (hotloop.fib, ffi.fib, ffi.fib_fast):
        with pytest.raises(OverflowError, match=r"fib\(94\) does not fit in 64 bits: n must be"):
            fn(94)
    for fn in (hotloop.julia, ffi.julia):
        with pytest.raises(ValueError, match=r"cs must be a scalar or have the shape of zs"):
            fn(Z, Z[:2], 5)


def test_strided_out_views():
    """Any whole-element stride is a fine out, for hotloop and hotloop.ffi alike."""
    for fn in (hotloop.rolling_mean, ffi.rolling_mean):
        strided = np.zeros(16)[::2]
        assert fn(F, 3, out=strided) is strided
        assert same(strided, hotloop.rolling_mean(F, 3))


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def unpickled(a):
    """a with a dtype that equals a's but is another object."""
    return pickle.loads(pickle.dumps(a))


@pytest.mark.parametrize("convert", [unpickled, lambda a: a.astype(a.dtype.newbyteorder())])
def test_equal_dtypes_are_accepted(convert):
    """float64/float32/complex128 by value: unpickled dtypes, byte-swapped data (converted to
    native; results have the native dtype)."""
    for x in (F, F.astype(np.float32)):
        y = convert(x)
        for fn in (hotloop.mean, hotloop.std, hotloop.nanvar, ffi.mean, ffi.std):
            assert same(fn(y), fn(x))
        for fn in (hotloop.rolling_std, ffi.rolling_std):
            got = fn(y, 3)
            assert got.dtype.isnative and same(got, fn(x, 3))
        rs, ref = hotloop.RunningStats(), hotloop.RunningStats()
        rs.extend(y)
        ref.extend(x)
        assert rs.mean == ref.mean and rs.var() == ref.var()
    grid = convert(G)
    assert same(hotloop.diffuse(grid, 3), hotloop.diffuse(G, 3))
    for fn in (hotloop.evolve, ffi.evolve):
        assert same(fn(grid, np.zeros((5, 5))), fn(G, np.zeros((5, 5))))
    for fn in (hotloop.julia, ffi.julia):
        assert same(fn(convert(Z), 0.3j, 20), fn(Z, 0.3j, 20))
        assert same(fn(Z, convert(Z[::-1].copy()), 20), fn(Z, Z[::-1].copy(), 20))


def test_integer_likes_are_accepted():
    """Any __index__ (NumPy integers) for counts; NumPy scalars for reals."""
    assert hotloop.fib(np.int8(10)) == ffi.fib(np.uint64(10)) == 55
    assert same(hotloop.rolling_mean(F, np.int64(3)), ffi.rolling_mean(F, np.int32(3)))
    assert same(hotloop.std(F, ddof=np.uint8(1)), ffi.std(F, ddof=np.int16(1)))
    a, b = np.zeros((5, 5)), np.zeros((5, 5))
    assert same(hotloop.evolve(G, a, np.float32(0.5), 0.5), ffi.evolve(G, b, 0.5, np.float16(0.5)))
    assert hotloop.julia_grid(np.complex64(0.3j), np.int16(4), xlim=np.array([-1, 1])).shape == (
        4,
        4,
    )


def test_cross_argument_rules_of_shape_and_pair_statistics():
    """x and y of one shape; window, ddof and min_periods against each other; axis in range:
    each message names the values received and accepted."""
    for fn in (hotloop.rolling_cov, hotloop.rolling_corr):
        with pytest.raises(
            ValueError,
            match=r"x and y must have the same shape, got \(8,\) and "
            r"\(7,\); accepted: two arrays of one shape",
        ):
            fn(F, F[:7], 3)
        with pytest.raises(
            ValueError,
            match=r"x and y must have the same shape, got \(5, 5\) and "
            r"\(25,\)",
        ):
            fn(G, G.ravel(), 3)
        with pytest.raises(ValueError, match=r"ddof=3 must be less than window=3; accepted"):
            fn(F, F, 3, ddof=3)
        with pytest.raises(
            ValueError,
            match=r"axis=2 is out of range for a 2-D x; accepted: "
            r"-2 <= axis < 2",
        ):
            fn(G, G, 3, axis=2)
    for fn in (
        hotloop.rolling_skew,
        hotloop.rolling_kurt,
        hotloop.rolling_sem,
        hotloop.rolling_cov,
        hotloop.rolling_corr,
    ):
        args = (F, F) if fn in (hotloop.rolling_cov, hotloop.rolling_corr) else (F,)
        with pytest.raises(
            ValueError,
            match=r"min_periods=4 must be <= window=3; accepted: "
            r"0 <= min_periods <= 3",
        ):
            fn(*args, 3, min_periods=4)
        with pytest.raises(ValueError, match=r"window must be >= 1, got 0"):
            fn(*args, 0)
    with pytest.raises(
        ValueError,
        match=r"ddof=1 must be less than window=1; accepted: "
        r"0 <= ddof < 1",
    ):
        hotloop.rolling_sem(F, 1)  # pandas' default ddof=1 needs window >= 2
    for fn in (hotloop.rolling_skew, hotloop.rolling_kurt):
        with pytest.raises(TypeError, match=r"unexpected keyword argument 'ddof'"):
            fn(F, 3, ddof=1)

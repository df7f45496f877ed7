"""Slow, obviously-correct pure-Python/NumPy twins of the teaching material's code.

The tests check hotloop's kernels against them and the showcase times them as the "what you
would write yourself" anchors, so both use this one copy.
"""

from __future__ import annotations

import numpy as np

#: The Julia constant of the teaching material's reference case.
C_REF = complex(-0.62772, -0.42193)


def teaching_case(width: int = 1000, c: complex = C_REF) -> tuple[list[complex], list[complex]]:
    """The teaching material's zs and cs lists: y outer, x inner, coordinates built by addition.

    x runs from -1.8 while below 1.8 and y from 1.8 while above -1.8, in steps of 3.6 / width.
    """
    x1, x2, y1, y2 = -1.8, 1.8, -1.8, 1.8
    x_step = (x2 - x1) / width
    y_step = (y1 - y2) / width
    x, y = [], []
    ycoord = y2
    while ycoord > y1:
        y.append(ycoord)
        ycoord += y_step
    xcoord = x1
    while xcoord < x2:
        x.append(xcoord)
        xcoord += x_step
    zs = [complex(xc, yc) for yc in y for xc in x]
    return zs, [c] * len(zs)


def calculate_z(maxiter: int, zs: list[complex], cs: list[complex]) -> list[int]:
    """The pure-Python calculate_z: updates z = z*z + c while n < maxiter and |z|**2 < 4."""
    output = [0] * len(zs)
    for i in range(len(zs)):
        n = 0
        z = zs[i]
        c = cs[i]
        while n < maxiter and z.real * z.real + z.imag * z.imag < 4:
            z = z * z + c
            n += 1
        output[i] = n
    return output


def diffuse_roll(grid: np.ndarray, steps: int, D: float = 1.0, dt: float = 0.1) -> np.ndarray:
    """The teaching material's NumPy diffusion: np.roll laplacian (periodic), its order."""
    for _ in range(steps):
        lap = (
            np.roll(grid, +1, 0)
            + np.roll(grid, -1, 0)
            + np.roll(grid, +1, 1)
            + np.roll(grid, -1, 1)
            - 4 * grid
        )
        grid = grid + dt * D * lap
    return grid

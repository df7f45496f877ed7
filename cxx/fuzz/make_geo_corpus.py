"""Writes the seed corpora of the geo fuzz harnesses (cxx/fuzz/corpus/geo_*_fuzz/): a few
valid and invalid polygons in geo_cover_fuzz's byte format, and tokens of several widths for
geo_token_fuzz (see each harness's header comment for the format).

    python cxx/fuzz/make_geo_corpus.py
"""

import math
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"


def fixed(x: float, scale: float) -> bytes:
    return struct.pack("<h", max(-32768, min(32767, round(x / scale * 32768))))


def ring(vertices, centre=0, scale=1, shell=True, new_geometry=False) -> bytes:
    """vertices: (dlon, dlat) offsets from centre number `centre` at scale number `scale`."""
    scales = [60, 1, 1e-4, 1e-9]
    out = bytes([len(vertices) | (0 if shell else 0x40) | (0x80 if new_geometry else 0)])
    for dlon, dlat in vertices:
        out += bytes([1 | centre << 4 | scale << 6])
        out += fixed(dlon, scales[scale]) + fixed(dlat, scales[scale])
    return out


def raw_ring(points) -> bytes:
    out = bytes([len(points)])
    for lon, lat in points:
        out += b"\x00" + struct.pack("<dd", lon, lat)
    return out


def regular(n, r):
    return [
        (r * math.cos(2 * math.pi * k / n), r * math.sin(2 * math.pi * k / n)) for k in range(n)
    ]


def cover_seeds():
    options = bytes([16, 0, 30, 0])
    square = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
    yield "square", options + ring(square)
    yield "square_with_hole", options + ring(square) + ring(regular(5, 0.2), shell=False)
    yield (
        "two_geometries",
        options + ring(regular(7, 0.8)) + ring(regular(9, 0.5), centre=2, new_geometry=True),
    )
    yield "polar_tiny", bytes([63, 3, 27, 1]) + ring(regular(12, 0.9), centre=1, scale=2)
    yield "interior_continent", bytes([64 | 20, 2, 10, 2]) + ring(regular(6, 0.7), scale=0)
    yield "bowtie", options + ring([(-0.5, -0.5), (0.5, 0.5), (0.5, -0.5), (-0.5, 0.5)])
    yield (
        "hole_outside",
        options + ring(square) + ring([(x + 3, y) for x, y in regular(4, 0.2)], shell=False),
    )
    yield (
        "nan_and_range",
        options
        + raw_ring([(0, 0), (1, float("nan")), (1, 1)])
        + raw_ring([(0, 0), (181, 0), (1, 91)]),
    )
    yield "duplicates", options + ring([(0, 0), (0.5, 0), (0, 0), (0, 0.5)])
    yield "antipodal", options + raw_ring([(0, 0), (180, 0), (90, 10)])


def token_seeds():
    yield "width16", bytes([15]) + b"89c25\0\0\0\0\0\0\0\0\0\0\0" + b"X" + b"\0" * 15
    yield "width4", bytes([3]) + b"89c2" + b"abcd" + b"ABCD" + b"0000" + b"zz\0\0"
    yield "width17", bytes([16]) + b"1" * 17 + b"f" * 16 + b"\0"
    yield "ids", bytes([7]) + struct.pack("<4Q", 0, 1, 2**64 - 1, 0x89C2500000000000)


def main():
    for harness, seeds in (("geo_cover_fuzz", cover_seeds()), ("geo_token_fuzz", token_seeds())):
        folder = HERE / harness
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds:
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()

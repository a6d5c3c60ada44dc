"""Draws the app icons (a white tick in a ring on the brand red) with the standard library only.

Run from anywhere: python pwa/icons/make_icons.py. The shapes sit inside the central 60%, so the same
picture also works as a maskable icon.
"""

import math
import struct
import zlib
from pathlib import Path

BRAND = (139, 26, 26)
WHITE = (255, 255, 255)


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    t = max(0.0, min(1.0, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)))
    return math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)))


def pixel(x: float, y: float) -> tuple[int, int, int]:
    """Colour at a point of the unit square."""
    ring = abs(math.hypot(x - 0.5, y - 0.5) - 0.27) < 0.035
    elbow = (0.47, 0.6)
    tick = min(_segment_distance(x, y, (0.38, 0.5), elbow), _segment_distance(x, y, elbow, (0.64, 0.4))) < 0.04
    return WHITE if ring or tick else BRAND


def png(size: int) -> bytes:
    def row(j: int) -> bytes:
        return b"\x00" + b"".join(bytes(pixel((i + 0.5) / size, (j + 0.5) / size)) for i in range(size))

    rows = b"".join(row(j) for j in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    for size in (192, 512):
        (Path(__file__).parent / f"icon-{size}.png").write_bytes(png(size))

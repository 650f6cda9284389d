"""Draws the app's icons (assets/icons/*.png) for the web app manifest.

    python3 tools/make_icons.py

Plain Python (zlib), no image library: a white speech bubble on the accent
colour, full-bleed so one picture serves as a maskable icon too (the bubble
stays inside the central safe zone).
"""

import struct
import zlib
from pathlib import Path

ACCENT = (0x5B, 0x3F, 0xC9)  # close to Radix iris-9, the buttons' colour
WHITE = (0xFF, 0xFF, 0xFF)
OUT = Path(__file__).resolve().parents[1] / "assets" / "icons"
SIZES = (192, 512)


def inside_bubble(x: float, y: float) -> bool:
    """The bubble in unit coordinates (0..1): an ellipse and a tail at its lower left."""
    ex, ey, rx, ry = 0.5, 0.46, 0.27, 0.22
    if ((x - ex) / rx) ** 2 + ((y - ey) / ry) ** 2 <= 1:
        return True
    # The tail: a triangle under the ellipse's lower left.
    ax, ay, bx, by, cx, cy = 0.33, 0.58, 0.46, 0.66, 0.29, 0.76
    d = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
    a = ((by - cy) * (x - cx) + (cx - bx) * (y - cy)) / d
    b = ((cy - ay) * (x - cx) + (ax - cx) * (y - cy)) / d
    return a >= 0 and b >= 0 and a + b <= 1


def dots(x: float, y: float) -> bool:
    """Three dots in the bubble, as someone typing."""
    return any((x - cx) ** 2 + (y - 0.46) ** 2 <= 0.035**2 for cx in (0.39, 0.5, 0.61))


def pixel(size: int, px: int, py: int) -> tuple[int, int, int]:
    # 4 samples a pixel: smooth enough edges for an icon.
    total = [0, 0, 0]
    for sx, sy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
        x, y = (px + sx) / size, (py + sy) / size
        colour = WHITE if inside_bubble(x, y) and not dots(x, y) else ACCENT
        for i in range(3):
            total[i] += colour[i]
    return tuple(t // 4 for t in total)


def png(size: int) -> bytes:
    rows = b"".join(b"\x00" + bytes(c for px in range(size) for c in pixel(size, px, py)) for py in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        (OUT / f"icon-{size}.png").write_bytes(png(size))
        print(f"wrote {OUT / f'icon-{size}.png'}")

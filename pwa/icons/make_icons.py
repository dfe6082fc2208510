"""Write the app's PNG icons with a tiny pure-Python PNG encoder (run once: python3 make_icons.py).

The picture matches icon.svg: two overlapping people-circles on the brand blue.
"""

import struct
import zlib
from pathlib import Path

BRAND = (0x1D, 0x4E, 0x89)
WHITE = (0xFF, 0xFF, 0xFF)
GOLD = (0xFF, 0xBF, 0x47)
HERE = Path(__file__).parent


def png(width, height, rows):
    """Encode 8-bit RGBA rows as a PNG file's bytes."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def draw(size, maskable):
    """Render the icon at size x size, 4x4 supersampled."""
    scale = 0.62 if maskable else 0.8  # maskable art stays inside the 80% safe zone
    radius_bg = 0 if maskable else 0.18
    circles = [(-0.16, 0.0, 0.26, WHITE), (0.16, 0.0, 0.26, GOLD)]
    rows = []
    n = 4
    for y in range(size):
        row = []
        for x in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(n):
                for sx in range(n):
                    u = (x + (sx + 0.5) / n) / size
                    v = (y + (sy + 0.5) / n) / size
                    colour, alpha = None, 0
                    # rounded-square background
                    dx = max(abs(u - 0.5) - (0.5 - radius_bg), 0)
                    dy = max(abs(v - 0.5) - (0.5 - radius_bg), 0)
                    if radius_bg == 0 or dx * dx + dy * dy <= radius_bg * radius_bg:
                        colour, alpha = BRAND, 255
                    px, py = (u - 0.5) / scale, (v - 0.5) / scale
                    for cx, cy, r, c in circles:
                        if (px - cx) ** 2 + (py - cy) ** 2 <= r * r:
                            colour, alpha = c, 255
                    if colour:
                        for i in range(3):
                            acc[i] += colour[i]
                        acc[3] += alpha
            hits = n * n
            row.extend([a // hits for a in acc[:3]] + [acc[3] // hits])
        rows.append(row)
    return png(size, size, rows)


if __name__ == "__main__":
    for size in (192, 512):
        (HERE / f"icon-{size}.png").write_bytes(draw(size, maskable=False))
        (HERE / f"maskable-{size}.png").write_bytes(draw(size, maskable=True))

#!/usr/bin/env python3
"""Draws treecast's icons (a relay tree: one node passing the video down to others).

Pure standard library (zlib + struct for PNG), so no image package is needed.
Run from anywhere: python3 extension/icons/make_icons.py
"""
import math
import struct
import zlib
from pathlib import Path

SIZES = (16, 32, 48, 128)
SUPERSAMPLE = 4
BACKGROUND = (0x1F, 0x6F, 0x5C)
FOREGROUND = (0xFF, 0xFF, 0xFF)

# Coordinates in a unit square. Small icons drop the third level to stay legible.
ROOT = (0.5, 0.27)
CHILDREN = ((0.27, 0.55), (0.73, 0.55))
GRANDCHILDREN = ((0.15, 0.80), (0.39, 0.80), (0.61, 0.80), (0.85, 0.80))


def segment_distance(p, a, b):
    ax, ay = a
    bx, by = b
    px, py = p
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def inside_rounded_square(p, radius=0.2):
    x = min(p[0], 1 - p[0])
    y = min(p[1], 1 - p[1])
    if x < 0 or y < 0:
        return False
    if x >= radius or y >= radius:
        return True
    return math.hypot(radius - x, radius - y) <= radius


def glyph(size):
    """Returns the shapes (circles and thick segments) for one icon size."""
    small = size < 32
    node = 0.13 if small else 0.085
    line = 0.085 if small else 0.045
    circles = [(ROOT, node * 1.25)] + [(c, node) for c in CHILDREN]
    segments = [(ROOT, c, line) for c in CHILDREN]
    if not small:
        circles += [(g, node * 0.85) for g in GRANDCHILDREN]
        segments += [(CHILDREN[i // 2], g, line) for i, g in enumerate(GRANDCHILDREN)]
    if small:  # spread the two levels over the square
        circles = [((x, 0.28 + (y - 0.27) * 1.45), r) for (x, y), r in circles]
        segments = [((a[0], 0.28 + (a[1] - 0.27) * 1.45), (b[0], 0.28 + (b[1] - 0.27) * 1.45), w)
                    for a, b, w in segments]
    return circles, segments


def render(size):
    circles, segments = glyph(size)
    rows = []
    n = SUPERSAMPLE
    for py in range(size):
        row = bytearray([0])  # PNG filter type 0 for this row
        for px in range(size):
            bg = fg = 0
            for sy in range(n):
                for sx in range(n):
                    p = ((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)
                    if not inside_rounded_square(p):
                        continue
                    bg += 1
                    if any(math.dist(p, c) <= r for c, r in circles) or \
                            any(segment_distance(p, a, b) <= w / 2 for a, b, w in segments):
                        fg += 1
            alpha = bg / (n * n)
            mix = fg / bg if bg else 0
            color = [round(b * (1 - mix) + f * mix) for b, f in zip(BACKGROUND, FOREGROUND)]
            row += bytes(color + [round(alpha * 255)])
        rows.append(bytes(row))
    return b''.join(rows)


def png(size, pixels):
    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xFFFFFFFF)
    header = struct.pack('>IIBBBBB', size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
            + chunk(b'IDAT', zlib.compress(pixels, 9)) + chunk(b'IEND', b''))


def main():
    here = Path(__file__).resolve().parent
    for size in SIZES:
        (here / f'icon{size}.png').write_bytes(png(size, render(size)))
        print(f'icon{size}.png')


if __name__ == '__main__':
    main()

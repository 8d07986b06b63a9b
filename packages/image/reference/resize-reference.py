"""Small exact fixtures for resize-image.ts: Pillow's Image.resize on tiny RGB images, every filter the processor
config accepts (1 LANCZOS, 2 BILINEAR, 3 BICUBIC), up- and down-scaling, one axis only, odd sizes, 1-pixel images,
overshooting edges (a checkerboard) and the same-size no-op. Made with Pillow only (not with this repository's code).

The input images are made here from a linear congruential sequence and stored with the outputs, so the tests need
neither Pillow nor this script: they resize the stored input and compare every output byte.

usage: python3 resize-reference.py OUT.json
"""
import base64
import json
import sys

import PIL
from PIL import Image

FILTERS = {1: Image.LANCZOS, 2: Image.BILINEAR, 3: Image.BICUBIC}


def noise(width, height, seed):
    """width × height × 3 bytes from the numerical-recipes LCG (the high byte of each state)."""
    state = seed & 0xFFFFFFFF
    data = bytearray()
    for _ in range(width * height * 3):
        state = (1664525 * state + 1013904223) & 0xFFFFFFFF
        data.append(state >> 24)
    return bytes(data)


def checker(width, height):
    """Alternating magenta and green pixels: the sharpest edges, where LANCZOS and BICUBIC overshoot 0 and 255."""
    data = bytearray()
    for y in range(height):
        for x in range(width):
            data += bytes((255, 0, 255) if (x + y) % 2 == 0 else (0, 255, 0))
    return bytes(data)


INPUTS = {
    "noise7x5": (7, 5, noise(7, 5, 1)),
    "noise13x9": (13, 9, noise(13, 9, 2)),
    "checker13x9": (13, 9, checker(13, 9)),
    "wide40x3": (40, 3, noise(40, 3, 3)),
    "line9x1": (9, 1, noise(9, 1, 4)),
    "pixel1x1": (1, 1, bytes((200, 100, 50))),
    # Red 224, 254, 255, 255: BICUBIC doubling the width gives output pixel 4 the weights −0.0234375, 0.2265625,
    # 0.8671875, −0.0703125 (exact in 22-bit fixed point), and a red sum of exactly 256 · 2^22: the clamp to 255.
    "edge4x1": (4, 1, bytes((224, 0, 10, 254, 0, 20, 255, 0, 30, 255, 0, 40))),
}

# (input, output width, output height)
CASES = [
    ("noise7x5", 3, 2),     # down on both axes
    ("noise7x5", 13, 9),    # up on both axes
    ("noise7x5", 7, 5),     # the same size: Pillow returns a copy
    ("noise7x5", 1, 1),     # everything into one pixel
    ("noise13x9", 5, 4),    # down by non-integer factors
    ("noise13x9", 13, 4),   # vertical only
    ("noise13x9", 6, 9),    # horizontal only
    ("noise13x9", 26, 3),   # up horizontally, down vertically
    ("noise13x9", 4, 20),   # down horizontally, up vertically
    ("checker13x9", 20, 14),  # overshoot past 0 and 255
    ("checker13x9", 4, 3),
    ("wide40x3", 3, 7),     # a reduction of 13: the filter support scaled to 13 input pixels per side
    ("line9x1", 4, 1),      # one row
    ("line9x1", 17, 2),
    ("pixel1x1", 3, 2),     # a 1-pixel image
    ("edge4x1", 8, 1),      # a sum exactly at the top of the byte range (BICUBIC)
]


def main():
    out = sys.argv[1]
    cases = []
    for code, resample in FILTERS.items():
        for name, width, height in CASES:
            in_width, in_height, data = INPUTS[name]
            image = Image.frombytes("RGB", (in_width, in_height), data)
            resized = image.resize((width, height), resample)
            assert resized.mode == "RGB" and resized.size == (width, height)
            cases.append({
                "input": name,
                "resample": code,
                "width": width,
                "height": height,
                "pixels": base64.b64encode(resized.tobytes()).decode("ascii"),
            })
    reference = {
        "generator": "resize-reference.py",
        "pillow": PIL.__version__,
        "inputs": {name: {"width": w, "height": h, "pixels": base64.b64encode(data).decode("ascii")} for name, (w, h, data) in INPUTS.items()},
        "cases": cases,
    }
    with open(out, "w") as file:
        json.dump(reference, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()

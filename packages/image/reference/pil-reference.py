"""Independent reference for the Idefics3 / SmolVLM image processor: the steps of transformers'
Idefics3ImageProcessor.preprocess for one image, computed with Pillow and numpy (not with this repository's code).

For each image it writes the tile grid and, per tile (the global image last), the SHA-256 of the tile's RGB bytes and
the RGB bytes at 256 pseudo-random positions, as JSON. Tests compare the TypeScript processor against it.

usage: python3 pil-reference.py OUT.json LONGEST_EDGE TILE_SIZE IMAGE...
"""
import base64
import hashlib
import json
import math
import os
import sys

import numpy as np
import PIL
from PIL import Image, ImageOps

MAX_IMAGE_SIZE = 4096
SAMPLES_PER_TILE = 256


def rescale_to_max_len(height, width, max_len):
    aspect_ratio = width / height
    if width >= height:
        width = max_len
        height = int(width / aspect_ratio)
        if height % 2 != 0:
            height += 1
    else:
        height = max_len
        width = int(height * aspect_ratio)
        if width % 2 != 0:
            width += 1
    return max(height, 1), max(width, 1)


def scale_below_upper_bound(height, width, max_len):
    aspect_ratio = width / height
    if width >= height and width > max_len:
        width = max_len
        height = int(width / aspect_ratio)
    elif height > width and height > max_len:
        height = max_len
        width = int(height * aspect_ratio)
    return max(height, 1), max(width, 1)


def load_rgb(path):
    """transformers' load_image (EXIF orientation) and convert_to_rgb (alpha composited onto white)."""
    image = ImageOps.exif_transpose(Image.open(path))
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def tiles_of(path, longest_edge, tile_size):
    image = load_rgb(path)
    width, height = image.size
    height, width = scale_below_upper_bound(*rescale_to_max_len(height, width, longest_edge), MAX_IMAGE_SIZE)
    image = image.resize((width, height), Image.LANCZOS)
    # resize_for_vision_encoder
    aspect_ratio = width / height
    if width >= height:
        width = math.ceil(width / tile_size) * tile_size
        height = math.ceil(int(width / aspect_ratio) / tile_size) * tile_size
    else:
        height = math.ceil(height / tile_size) * tile_size
        width = math.ceil(int(height * aspect_ratio) / tile_size) * tile_size
    image = image.resize((width, height), Image.LANCZOS)
    pixels = np.asarray(image)
    tiles, rows, cols = [], 0, 0
    if height > tile_size or width > tile_size:
        rows, cols = math.ceil(height / tile_size), math.ceil(width / tile_size)
        tile_height, tile_width = math.ceil(height / rows), math.ceil(width / cols)
        for row in range(rows):
            for col in range(cols):
                top, left = row * tile_height, col * tile_width
                tiles.append(pixels[top:min(top + tile_height, height), left:min(left + tile_width, width)])
        image = image.resize((tile_size, tile_size), Image.LANCZOS)
        tiles.append(np.asarray(image))
    else:
        tiles.append(pixels)
    return rows, cols, tiles


def sample_positions(seed, count, size):
    """The same linear congruential sequence the tests use (numerical recipes constants)."""
    state = seed & 0xFFFFFFFF
    positions = []
    for _ in range(count):
        state = (1664525 * state + 1013904223) & 0xFFFFFFFF
        positions.append(state % (size * size))
    return positions


def main():
    out, longest_edge, tile_size, paths = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    images = []
    for path in paths:
        rows, cols, tiles = tiles_of(path, longest_edge, tile_size)
        entries = []
        for index, tile in enumerate(tiles):
            tile = np.ascontiguousarray(tile, dtype=np.uint8)
            flat = tile.reshape(-1, 3)
            positions = sample_positions(index + 1, SAMPLES_PER_TILE, tile_size)
            entries.append({
                "sha256": hashlib.sha256(tile.tobytes()).hexdigest(),
                "samples": base64.b64encode(flat[positions].tobytes()).decode("ascii"),
            })
        images.append({"file": os.path.basename(path), "rows": rows, "cols": cols, "tiles": entries})
    reference = {
        "generator": "pil-reference.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "longest_edge": longest_edge,
        "tile_size": tile_size,
        "samples_per_tile": SAMPLES_PER_TILE,
        "images": images,
    }
    with open(out, "w") as file:
        json.dump(reference, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()

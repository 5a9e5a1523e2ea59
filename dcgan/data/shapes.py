"""The built-in "shapes" dataset: coloured shapes on white, generated offline and deterministic."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from .imageset import ImageSet

SHAPE_KINDS = ("circle", "square", "triangle")
SHAPE_COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
}
SHAPE_SIZES = ("small", "large")
SHAPES_COUNT = 4096  # enough for a DCGAN to fit, small enough to generate in about a second


def make_shapes(size: int, n: int = SHAPES_COUNT, seed: int = 0) -> ImageSet:
    """Deterministic coloured shapes on white whose attributes are known for each image."""
    rng = np.random.default_rng(seed)
    scale = 4  # draw big, then shrink: antialiased edges without extra dependencies
    big = size * scale
    arrays, attrs = [], []
    colours = list(SHAPE_COLOURS)
    for _ in range(n):
        kind = SHAPE_KINDS[rng.integers(len(SHAPE_KINDS))]
        colour = colours[rng.integers(len(colours))]
        sz = SHAPE_SIZES[rng.integers(len(SHAPE_SIZES))]
        r = big * (0.16 if sz == "small" else 0.3)
        cx = rng.uniform(r + big * 0.04, big - r - big * 0.04)
        cy = rng.uniform(r + big * 0.04, big - r - big * 0.04)
        img = Image.new("RGB", (big, big), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        fill = SHAPE_COLOURS[colour]
        if kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif kind == "square":
            s = r * 0.89  # equal area to the circle, roughly
            draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill)
        else:
            draw.polygon(
                [(cx, cy - r), (cx - r * 0.95, cy + r * 0.75), (cx + r * 0.95, cy + r * 0.75)],
                fill=fill,
            )
        arrays.append(np.asarray(img.resize((size, size), Image.BOX), dtype=np.uint8))
        attrs.append(
            {
                "shape": kind,
                "colour": colour,
                "size": sz,
                "x": round(cx / big, 4),
                "y": round(cy / big, 4),
            }
        )
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([SHAPE_KINDS.index(a["shape"]) for a in attrs])
    return ImageSet(
        images=images,
        source="shapes",
        names=[f"shape_{i:05d}" for i in range(n)],
        labels=labels,
        class_names=list(SHAPE_KINDS),
        attributes=attrs,
    )

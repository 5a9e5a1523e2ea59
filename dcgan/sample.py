"""Write a grid of samples from a checkpoint or generator export.

python -m dcgan.sample --checkpoint PATH --n 64 --seed 0 --out grid.png
"""

from __future__ import annotations

import argparse
import math
import sys

from .checkpoint import CheckpointError, load_generator
from .images import grid_image
from .latent import generate, sample_z


def main(argv: list[str] | None = None) -> int:
    """Sample n images with a seed and save them as one PNG grid."""
    p = argparse.ArgumentParser(prog="python -m dcgan.sample", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True, help=".pt checkpoint or .safetensors export")
    p.add_argument("--n", type=int, default=64, help="number of images (1 to 1024)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nrow", type=int, help="images per row (default: square)")
    p.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscale factor")
    p.add_argument("--out", default="grid.png")
    a = p.parse_args(argv)
    if not 1 <= a.n <= 1024:
        print(f"error: --n {a.n} must lie between 1 and 1024.", file=sys.stderr)
        return 2
    try:
        G, cfg, _ = load_generator(a.checkpoint)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    images = generate(G, sample_z(a.n, cfg.nz, a.seed))
    grid_image(images, nrow=a.nrow or math.ceil(math.sqrt(a.n)), scale=a.scale).save(a.out)
    print(f"{a.n} samples (seed {a.seed}) written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

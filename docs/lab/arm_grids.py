"""Stitch an experiment's arms' final sample grids side by side, each under its label and SWD,
into one PNG for docs/LAB.md:

    python docs/lab/arm_grids.py EXP_DIR OUT.png [--scale 2]

EXP_DIR is what `python -m dcgan.experiments run NAME --root ROOT` printed (ROOT/<time>-exp-NAME);
each arm's grid is the run folder's grid.png, the fixed-noise samples at its last step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw

LABEL_H = 34  # two lines of PIL's default font
GAP = 12


def main(argv: list[str] | None = None) -> int:
    """Write the montage; 2 when the folder is not a finished experiment."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("exp_dir", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling")
    a = ap.parse_args(argv)
    try:
        spec = json.loads((a.exp_dir / "experiment.json").read_text())
    except (OSError, ValueError) as e:
        print(f"{a.exp_dir} is not an experiment folder: {e}", file=sys.stderr)
        return 2
    tiles = []
    for arm in spec["arms"]:
        path = a.exp_dir / arm.get("dir", arm["key"]) / "grid.png"
        if not path.exists():
            print(f"{arm['label']}: no grid.png (did the arm train?)", file=sys.stderr)
            return 2
        grid = Image.open(path).convert("RGB")
        grid = grid.resize((grid.width * a.scale, grid.height * a.scale), Image.NEAREST)
        swd = (arm.get("quality") or {}).get("swd")
        cov = arm.get("coverage") or {}
        second = f"SWD x1e3 {swd:.1f}" if swd is not None else "SWD -"
        if cov:
            second += f", classes {cov['covered']}/{cov['of']}"
        tiles.append((grid, arm["label"], second))
    w = sum(g.width for g, _, _ in tiles) + GAP * (len(tiles) - 1)
    h = max(g.height for g, _, _ in tiles) + LABEL_H
    out = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(out)
    x = 0
    for grid, label, second in tiles:
        draw.text((x + 4, 2), label, fill="black")
        draw.text((x + 4, 17), second, fill="black")
        out.paste(grid, (x, LABEL_H))
        x += grid.width + GAP
    a.out.parent.mkdir(parents=True, exist_ok=True)
    out.quantize(256).save(a.out, optimize=True)  # 256 colours: a third of the bytes
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

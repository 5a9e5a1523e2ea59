"""Train the classroom-cpu preset on the built-in shapes and keep a generator export at several
steps, so docs/LAB.md can score the vector arithmetic over training.

    OMP_NUM_THREADS=1 python docs/lab/train_shapes.py --out /tmp/shapes-run --steps 1500

Writes OUT/step-000100.safetensors ... (the sampling generator at each step in --at), and
OUT/last.pt (the full checkpoint, D included) at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dcgan import checkpoint as ckpt  # noqa: E402
from dcgan.config import parse_sets, preset  # noqa: E402
from dcgan.data import load  # noqa: E402
from dcgan.trainer import Trainer  # noqa: E402


def main() -> int:
    """Train, exporting G at each step listed in --at."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="/tmp/shapes-run")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--at", type=int, nargs="*", default=[0, 100, 250, 500, 1000, 1500])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides on the preset, e.g. model.ngf=32 train.lr=0.0005",
    )
    a = p.parse_args()
    cfg = preset("classroom-cpu").replace(
        **{
            "data.source": "shapes",
            "train.steps": a.steps,
            "train.seed": a.seed,
            "train.precision": a.precision,
        }
    )
    cfg = cfg.replace(**parse_sets(a.set))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tr = Trainer(cfg, load("shapes", cfg.model.image_size))
    t0 = time.perf_counter()
    for target in sorted(set([s for s in a.at if s <= a.steps] + [a.steps])):
        tr.run(target - tr.step_num)
        meta = {
            "step": tr.step_num,
            "dataset": "shapes",
            "preset": cfg.preset,
            "wall_seconds": round(time.perf_counter() - t0, 1),
            "precision": tr.precision,
            "command": "python docs/lab/train_shapes.py " + " ".join(sys.argv[1:]),
        }
        path = ckpt.export_generator(
            tr.sampling_generator(),
            cfg.model,
            out / f"step-{tr.step_num:06d}.safetensors",
            meta=meta,
        )
        print(
            f"step {tr.step_num}: {path} ({time.perf_counter() - t0:.0f} s, {tr.precision})",
            flush=True,
        )
    ckpt.save(tr.state_dict(), out / "last.pt")
    print(f"checkpoint written to {out / 'last.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

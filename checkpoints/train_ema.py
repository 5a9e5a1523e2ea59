"""Train one shipped generator with the generator average (EMA) and, optionally, DiffAugment.

The shipped generators in checkpoints/ are made with this script (checkpoints/README.md):
it runs dcgan.trainer.Trainer in-process, and every --export-every steps it writes

  OUT                 the EMA generator (what ships), its BatchNorm statistics recomputed
                      (dcgan.trainer.recalibrate_batchnorm), half precision, with the command,
                      step, wall time, device, precision and thread count in its metadata;
  RUN/raw.safetensors the raw G at the same step, for the model card's "without EMA" row;
  RUN/last.pt         a full checkpoint: --resume RUN/last.pt continues exactly.

Stopping it early leaves a usable generator at the last export; that file is the same as a
run with --steps set to its step, because nothing in the recipe depends on the total.

    python checkpoints/train_ema.py --dataset anime-faces --steps 4000 \\
        --out checkpoints/anime-faces.safetensors --run checkpoints/runs/anime-ema
"""

from __future__ import annotations

import argparse
import copy
import shlex
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dcgan import checkpoint as ckpt  # noqa: E402
from dcgan.config import preset  # noqa: E402
from dcgan.data import load  # noqa: E402
from dcgan.trainer import Trainer, recalibrate_batchnorm  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the recipe, train, and export the EMA and raw generators as it goes."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--dataset", required=True, help="anime-faces, pokemon, shapes, or a path")
    p.add_argument("--preset", default="paper")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--ngf", type=int, default=32, help="32 keeps the latency targets")
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="default: the preset's")
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--diffaugment", default="", help="e.g. color,translation,cutout")
    p.add_argument("--flip", action="store_true")
    p.add_argument("--precision", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--export-every", type=int, default=500)
    p.add_argument("--out", required=True, help="the EMA generator's .safetensors")
    p.add_argument("--run", required=True, help="folder for raw.safetensors and last.pt")
    p.add_argument("--resume", help="a last.pt written by an earlier run of this script")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    over = {
        "data.source": a.dataset,
        "data.flip": a.flip,
        "model.ngf": a.ngf,
        "model.ndf": a.ndf,
        "train.batch_size": a.batch_size,
        "train.steps": a.steps,
        "train.ema_decay": a.ema_decay,
        "train.diffaugment": a.diffaugment,
        "train.precision": a.precision,
        "train.seed": a.seed,
        "train.sample_every": 10**9,  # no timeline: nobody watches this run
    }
    if a.lr is not None:
        over["train.lr"] = a.lr
    cfg = preset(a.preset).replace(**over).validate()
    data = load(a.dataset, cfg.model.image_size)
    tr = Trainer(cfg, data)
    wall0 = 0.0
    if a.resume:
        state = ckpt.load(a.resume)
        tr.load_state_dict(state)
        wall0 = float(state.get("wall_seconds", 0.0))
    run = Path(a.run)
    run.mkdir(parents=True, exist_ok=True)
    command = "python checkpoints/train_ema.py " + shlex.join(
        x for x in (argv if argv is not None else sys.argv[1:])
    )
    t0 = time.perf_counter()
    while tr.step_num < tr.total_steps:
        tr.run(min(a.export_every - tr.step_num % a.export_every, tr.total_steps - tr.step_num))
        wall = wall0 + time.perf_counter() - t0
        meta = {
            "preset": a.preset,
            "dataset": a.dataset,
            "step": str(tr.step_num),
            "wall_seconds": f"{wall:.1f}",
            "device": str(tr.device),
            "precision": tr.precision,
            "threads": str(a.threads),
            "ema_decay": str(a.ema_decay),
            "diffaugment": a.diffaugment,
            "command": command,
        }
        G_out = tr.sampling_generator()
        if tr.G_ema is not None:  # the average's own BatchNorm statistics, on a copy
            G_out = recalibrate_batchnorm(copy.deepcopy(G_out), cfg.model.nz)
            meta["batchnorm"] = "recalibrated: 4096 latents, seed 123"
        ckpt.export_generator(G_out, cfg.model, a.out, meta=meta)
        ckpt.export_generator(tr.G, cfg.model, run / "raw.safetensors", meta=meta)
        ckpt.save({**tr.state_dict(), "wall_seconds": wall}, run / "last.pt")
        h = tr.history.columns
        print(
            f"step {tr.step_num}/{tr.total_steps}  {wall:.0f} s  "
            f"loss_D {h['loss_D'][-1]:.3f}  loss_G {h['loss_G'][-1]:.3f}  "
            f"D(x) {h['D_x'][-1]:.2f}  D(G(z)) {h['D_G_z1'][-1]:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

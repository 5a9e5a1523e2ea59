"""The classroom promise: press Start, and within a minute the samples are recognisable.

Runs the `classroom-cpu` preset the way the Train page does (a TrainingJob that loads its own
data, on a warm cache) and reports:
  start_s       Start -> first training step done (data decode from the cache included);
  at each of --at seconds after Start: the step reached, examples/sec, and the sliced
                Wasserstein distance (dcgan.metrics.swd, x 10^3, lower is closer) between
                --n samples of G as it was at that moment and --n real images.
The untrained generator's SWD and real-vs-real SWD bracket the figures. G is copied at each
moment and scored after the job stops, so the scoring never slows the training.

    python -m bench.classroom [--dataset anime-faces] [--at 60 180] [--out DIR] [--json]

Anime faces come from $DCGAN_ANIME_FACES, $DCGAN_SHARED_DATA/anime_faces_64.zip or
../shared/data/anime_faces_64.zip; without them the built-in shapes are used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from bench import ROOT, load_avg, machine


def default_dataset() -> str:
    """anime-faces when a copy is reachable (setting DCGAN_ANIME_FACES), else shapes."""
    cands = [os.environ.get("DCGAN_ANIME_FACES")]
    if os.environ.get("DCGAN_SHARED_DATA"):
        cands.append(str(Path(os.environ["DCGAN_SHARED_DATA"]) / "anime_faces_64.zip"))
    cands.append(str(ROOT.parent / "shared" / "data" / "anime_faces_64.zip"))
    for c in cands:
        if c and Path(c).exists():
            os.environ["DCGAN_ANIME_FACES"] = c
            return "anime-faces"
    return "shapes"


def run(a: argparse.Namespace) -> dict:
    """Warm the cache, press Start, copy G at each moment, then score the copies."""
    from dcgan.config import preset
    from dcgan.data import load
    from dcgan.images import grid_image
    from dcgan.metrics import generated_images, swd
    from dcgan.models import Generator
    from dcgan.train import TrainingJob

    cfg = preset("classroom-cpu").replace(**{"data.source": a.dataset, "train.epochs": 1000})
    cfg.validate()
    before = load_avg()
    real_set = load(a.dataset, cfg.model.image_size)  # warms the cache, as a second Start finds
    job = TrainingJob(cfg)
    t0 = time.perf_counter()
    job.start()
    while job.snapshot().step < 1 and job.alive:
        time.sleep(0.01)
    start_s = time.perf_counter() - t0
    copies = []
    for at in sorted(a.at):
        while time.perf_counter() - t0 < at and job.alive:
            time.sleep(0.05)
        s = job.snapshot()
        step, weights = job.generator_weights()
        eps = s.history("examples_per_sec")
        copies.append((at, step, weights, sum(eps[-20:]) / max(1, len(eps[-20:]))))
    job.stop()
    job.wait(60)
    if job.snapshot().status == "failed":
        raise RuntimeError(job.snapshot().error)

    gen = torch.Generator().manual_seed(0)
    real = real_set.images[torch.randperm(len(real_set), generator=gen)[: 2 * a.n]]
    real_a, real_b = real[: a.n], real[a.n :]
    G = Generator(cfg.model).eval()
    untrained = swd(generated_images(G, cfg.model.nz, a.n, seed=1), real_a, seed=0)["mean"]
    rows = []
    for at, step, weights, eps in copies:
        G.load_state_dict(weights)
        fake = generated_images(G, cfg.model.nz, a.n, seed=1)
        rows.append(
            {
                "seconds": at,
                "step": step,
                "examples_per_sec": eps,
                "swd": swd(fake, real_a, seed=0)["mean"],
            }
        )
        if a.out:
            out = Path(a.out)
            out.mkdir(parents=True, exist_ok=True)
            grid_image(fake[:64], nrow=8, scale=2).save(out / f"classroom_{at:g}s.png")
    return {
        "dataset": a.dataset,
        "preset": "classroom-cpu",
        "image_size": cfg.model.image_size,
        "start_s": start_s,
        "at": rows,
        "swd_untrained": untrained,
        "swd_real_vs_real": swd(real_b, real_a, seed=0)["mean"] if len(real_b) >= 2 else None,
        "n_images": a.n,
        "precision": job.snapshot().precision,
        "load_avg_1m_before": before,
        "machine": machine("cpu"),
    }


def summary(r: dict) -> str:
    """Human summary."""
    lines = [
        f"classroom-cpu on {r['dataset']} ({r['image_size']}px, {r['precision']}), "
        f"load {r['load_avg_1m_before']} before, {r['machine']['load_avg_1m']} after",
        f"  start (warm cache, to the first step): {r['start_s']:.1f} s",
    ]
    for row in r["at"]:
        lines.append(
            f"  at {row['seconds']:>4g} s: step {row['step']:5d}, "
            f"{row['examples_per_sec']:6.0f} examples/sec, SWD {row['swd']:.1f}"
        )
    floor = r["swd_real_vs_real"]
    lines.append(
        f"  SWD untrained G {r['swd_untrained']:.1f}; real vs real {floor:.1f} "
        f"(x1e3 on {r['n_images']} images, lower is closer)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the classroom timeline and print a summary, or JSON with --json."""
    p = argparse.ArgumentParser(prog="python -m bench.classroom", description=__doc__)
    p.add_argument("--dataset", help="default: anime-faces when available, else shapes")
    p.add_argument("--at", type=float, nargs="+", default=[60, 180], help="seconds after Start")
    p.add_argument("--n", type=int, default=512, help="images per set for the SWD")
    p.add_argument("--out", help="write the sample grid at each moment here")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.n < 2 or min(a.at) <= 0:
        p.error("--n must be at least 2 and every --at positive")
    a.dataset = a.dataset or default_dataset()
    r = run(a)
    print(json.dumps(r) if a.json else summary(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

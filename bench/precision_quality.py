"""Does bf16 cost quality? Train the same model in fp32 and in bf16 for a fixed number of
steps, from the same seeds, and compare what came out.

Quality is the sliced Wasserstein distance (dcgan.metrics.swd, x 10^3, lower is closer)
between generated samples and real images, plus D(x) - D(G(z)) over the last steps (how well
D still separates real from fake). GAN runs differ from seed to seed by more than most effects,
so each precision is run from several seeds and the per-seed figures are shown; the floor
(real vs other real images) shows what "as close as the data allows" reads.

    python -m bench.precision_quality [--preset classroom-cpu] [--steps 400] [--seeds 3] [--json]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from bench import machine, parser, report


def train_once(a: argparse.Namespace, precision: str, seed: int, data):
    """Train `steps` steps; return the trainer and its wall time."""
    from dcgan.config import Config
    from dcgan.trainer import Trainer

    over = {
        "train.precision": precision,
        "train.seed": seed,
        "train.steps": a.steps,
        "train.device": "cpu",
        "train.sample_every": 10**6,
        "model.image_size": a.image_size,
        "train.batch_size": a.batch_size,
    }
    cfg = Config.with_overrides(a.preset, over)
    tr = Trainer(cfg, data)
    t0 = time.perf_counter()
    tr.run(a.steps)
    return tr, time.perf_counter() - t0


def run(a: argparse.Namespace) -> dict:
    """fp32 and bf16 from each seed; SWD and the D gap at the end."""
    from dcgan.data import load
    from dcgan.hardware import pick_precision
    from dcgan.metrics import generated_images, swd

    size = a.image_size
    data = load(a.dataset, size)
    real = data.images
    gen = torch.Generator().manual_seed(1234)
    perm = torch.randperm(len(real), generator=gen)
    n = min(a.n, len(real) // 2)
    real_a, real_b = real[perm[:n]], real[perm[n : 2 * n]]
    rows = []
    for seed in range(a.seeds):
        for precision in ("fp32", "bf16"):
            tr, secs = train_once(a, precision, seed, data)
            h = tr.history.columns
            k = min(a.last, len(h["D_x"]))
            gap = sum(x - y for x, y in zip(h["D_x"][-k:], h["D_G_z1"][-k:], strict=True)) / k
            fake = generated_images(tr.G, tr.cfg.model.nz, n, seed=10_000 + seed)
            rows.append(
                {
                    "seed": seed,
                    "precision": tr.precision,
                    "swd": swd(fake, real_a, seed=0)["mean"],
                    "d_gap": gap,
                    "loss_D": sum(h["loss_D"][-k:]) / k,
                    "loss_G": sum(h["loss_G"][-k:]) / k,
                    "seconds": secs,
                }
            )
            if not a.json:
                r = rows[-1]
                print(
                    f"  seed {seed} {precision}: SWD {r['swd']:.1f}, D gap {r['d_gap']:.3f}, "
                    f"{secs:.0f} s",
                    flush=True,
                )

    def mean(p, key):
        vals = [r[key] for r in rows if r["precision"] == p]
        return sum(vals) / len(vals)

    return {
        "preset": a.preset,
        "batch_size": tr.cfg.train.batch_size,
        "threads": torch.get_num_threads(),
        "dataset": a.dataset,
        "image_size": size,
        "steps": a.steps,
        "seeds": a.seeds,
        "n_images": n,
        "auto_precision_here": pick_precision("auto", torch.device("cpu")),
        "runs": rows,
        "mean": {p: {k: mean(p, k) for k in ("swd", "d_gap", "seconds")} for p in ("fp32", "bf16")},
        "swd_floor_real_vs_real": swd(real_b, real_a, seed=0)["mean"],
        "machine": machine("cpu"),
    }


def summary(r: dict) -> str:
    """Human summary."""
    m = r["mean"]
    return "\n".join(
        [
            f"{r['preset']} on {r['dataset']} ({r['image_size']}px, batch {r['batch_size']}), "
            f"{r['steps']} steps, "
            f"{r['seeds']} seeds, SWD x1e3 on {r['n_images']} images (lower is closer)",
            f"  fp32: SWD {m['fp32']['swd']:.1f}, D(x)-D(G(z)) {m['fp32']['d_gap']:.3f}, "
            f"{m['fp32']['seconds']:.0f} s per run",
            f"  bf16: SWD {m['bf16']['swd']:.1f}, D(x)-D(G(z)) {m['bf16']['d_gap']:.3f}, "
            f"{m['bf16']['seconds']:.0f} s per run",
            f"  floor (real vs other real images): SWD {r['swd_floor_real_vs_real']:.1f}",
        ]
    )


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--preset": dict(default="classroom-cpu"),
    "--dataset": dict(default="shapes"),
    "--image-size": dict(type=int, help="default: the preset's"),
    "--steps": dict(type=int, default=400),
    "--seeds": dict(type=int, default=3),
    "--n": dict(type=int, default=512, help="images per set for the SWD"),
    "--last": dict(type=int, default=50, help="steps averaged for the D gap"),
    "--batch-size": dict(type=int, help="default: the preset's"),
    "--threads": dict(type=int, help="torch threads (default: torch's choice)"),
}


def main(argv: list[str] | None = None) -> int:
    """Run both precisions from each seed and print a summary or JSON."""
    p = parser("bench.precision_quality", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if min(a.steps, a.seeds, a.last) < 1 or a.n < 2:
        p.error("--steps, --seeds and --last must be at least 1, --n at least 2")
    if a.image_size is None:
        from dcgan.config import preset

        a.image_size = preset(a.preset).model.image_size
    return 2 if report(lambda: run(a), summary, a.json) is None else 0


if __name__ == "__main__":
    sys.exit(main())

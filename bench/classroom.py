"""The classroom promise: press Start, and within a minute the samples are recognisable.

Runs the `classroom-cpu` preset the way the Train page does (dcgan.runs.handle.start_job: a job
process that loads its own data, on a warm cache) and reports:
  start_s       Start -> first training step done (process start, imports and the data decode
                from the cache included);
  at each of --at seconds after Start: the step reached, examples/sec, and the sliced
                Wasserstein distance (dcgan.metrics.swd, x 10^3, lower is closer) between
                --n samples of G as it was at that moment and --n real images.
The untrained generator's SWD and real-vs-real SWD bracket the figures. The job's generator
snapshot (the EMA weights when the preset keeps an average) is copied at each moment and scored
after the job stops, so the scoring never slows the training. It prints the precision it ran in.

    python -m bench.classroom [--dataset anime-faces] [--at 30 60 180] [--out DIR] [--json]
    python -m bench.classroom --dataset shapes --precision fp32 --threads 1 --isa AVX2 \
        --at 30 60 180 --out bench/results/classroom-avx2      # a 2-core laptop without bf16
    python -m bench.classroom --set train.ema_decay=0 ...      # the same without the average

Anime faces are found by the loader's own rule (dcgan.data.find_anime_faces:
$DCGAN_ANIME_FACES, else ../shared/data/anime_faces_64.zip, else the data cache); without them
the built-in shapes are used.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench import load_avg, load_span, machine, parser, report


def default_dataset() -> str:
    """anime-faces when a copy is reachable by the loader's own rule, else shapes."""
    from dcgan.data import find_anime_faces

    return "anime-faces" if find_anime_faces() is not None else "shapes"


def run(a: argparse.Namespace) -> dict:
    """Warm the cache, press Start (a job process, as the Train page starts it), copy G's
    snapshot at each moment, then score the copies after the job has stopped."""
    from dcgan import runs
    from dcgan.checkpoint import load_generator
    from dcgan.config import Config, parse_sets
    from dcgan.data import load
    from dcgan.images import grid_image
    from dcgan.metrics import generated_images, swd
    from dcgan.models import Generator
    from dcgan.runs.handle import start_job

    over = {"data.source": a.dataset, "train.epochs": 1000, "train.precision": a.precision}
    over.update(parse_sets(a.set or []))
    cfg = Config.with_overrides("classroom-cpu", over)
    before = load_avg()
    real_set = load(a.dataset, cfg.model.image_size)  # warms the cache, as a second Start finds
    env = {"OMP_NUM_THREADS": str(a.threads)} if a.threads else {}
    if a.isa:
        env["ONEDNN_MAX_CPU_ISA"] = a.isa  # e.g. AVX2: a laptop without AVX512 or bf16
    root = Path(tempfile.mkdtemp(prefix="dcgan-classroom-"))
    t0 = time.perf_counter()
    h = start_job(cfg, root, env=env)
    st = h.wait_for(lambda s: s.get("step", 0) >= 1, 120, what="the first training step")
    start_s = time.perf_counter() - t0
    copies = []
    snap = h.dir / runs.GENERATOR
    try:
        for at in sorted(a.at):
            st = h.wait_for(lambda s, at=at: time.perf_counter() - t0 >= at, at + 60, poll=0.05)
            if st["status"] not in runs.LIVE:
                break
            kept = root / f"at-{at:g}.safetensors"
            shutil.copyfile(snap, kept)  # the newest snapshot: at most one sample_every behind
            copies.append((at, kept, float(st.get("examples_per_sec", 0.0))))
    finally:
        h.stop_or_kill(60)
    final = h.status()
    if final["status"] == "failed":
        raise RuntimeError(final.get("error"))
    gen = torch.Generator().manual_seed(0)
    real = real_set.images[torch.randperm(len(real_set), generator=gen)[: 2 * a.n]]
    real_a, real_b = real[: a.n], real[a.n :]
    g0 = Generator(cfg.model).eval()
    untrained = swd(generated_images(g0, cfg.model.nz, a.n, seed=1), real_a, seed=0)["mean"]
    rows = []
    for at, path, eps in copies:
        G, _, meta = load_generator(path)
        step = int(meta.get("step", 0))
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
        "precision": final.get("precision"),
        "threads": final.get("threads"),
        "isa_cap": a.isa or "none",
        "config": {k: v for k, v in over.items() if k != "data.source"},
        "load_avg_1m_before": before,
        "machine": machine("cpu"),
    }


def summary(r: dict) -> str:
    """Human summary."""
    lines = [
        f"classroom-cpu on {r['dataset']} ({r['image_size']}px, {r['precision']}), {load_span(r)}",
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


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--dataset": dict(help="default: anime-faces when available, else shapes"),
    "--at": dict(type=float, nargs="+", default=[60, 180], help="seconds after Start"),
    "--n": dict(type=int, default=512, help="images per set for the SWD"),
    "--out": dict(help="write the sample grid at each moment here"),
    "--precision": dict(default="auto", choices=["auto", "fp32", "bf16"]),
    "--threads": dict(type=int, help="the job's threads (default: all cores but one)"),
    "--isa": dict(help="cap oneDNN, e.g. AVX2 to stand in for a laptop without bf16"),
    "--set": dict(nargs="*", help="config overrides, e.g. train.ema_decay=0"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the classroom timeline and print a summary, or JSON with --json."""
    p = parser("bench.classroom", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if a.n < 2 or min(a.at) <= 0:
        p.error("--n must be at least 2 and every --at positive")
    a.dataset = a.dataset or default_dataset()
    return 2 if report(lambda: run(a), summary, a.json) is None else 0


if __name__ == "__main__":
    sys.exit(main())

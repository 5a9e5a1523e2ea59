"""Tune the classroom preset: train in-process, copy G at moments, score every copy after.

Runs dcgan.trainer.Trainer in this process on the `classroom-cpu` preset with any overrides
(--set train.lr=0.001 ...), one torch thread by default (the app leaves the other core to the
server). At each moment (--at seconds of wall time from building the Trainer; --at-cpu seconds of
this process's CPU time, which on one thread stand in for a core of its own when other work
shares the machine; or --at-steps steps) it copies both the sampling generator
(G_ema when the EMA is on) and the raw G. When training stops it scores each copy with the
sliced Wasserstein distance (dcgan.metrics.swd, x 10^3, lower is closer) exactly as
bench/classroom.py does: --n generated images (seed 1) against --n real ones (seed 0); and
with --out it saves each sample grid as a PNG beside a JSON of the figures.

    ONEDNN_MAX_CPU_ISA=AVX2 OMP_NUM_THREADS=1 python -m bench.classroom_tune \\
        --set train.precision=fp32 --at 30 60 180 --out bench/results/classroom-tune
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

from bench import load_avg, machine, parser
from dcgan.config import parse_sets


def run(a: argparse.Namespace) -> dict:
    """Train until the last moment, keep copies of G, then score them."""
    from dcgan.config import preset
    from dcgan.data import load
    from dcgan.images import grid_image
    from dcgan.metrics import generated_images, swd
    from dcgan.trainer import Trainer

    torch.set_num_threads(a.threads)
    over = {"data.source": a.dataset, "train.epochs": 10_000, **parse_sets(a.set)}
    cfg = preset("classroom-cpu").replace(**over).validate()
    data = load(a.dataset, cfg.model.image_size)
    before = load_avg()
    t0, cpu0 = time.perf_counter(), time.process_time()
    tr = Trainer(cfg, data)
    by_steps = a.at_steps is not None
    unit = "steps" if by_steps else "cpu-s" if a.at_cpu else "s"
    moments = sorted(a.at_steps or a.at_cpu or a.at)
    clock = time.process_time if a.at_cpu else time.perf_counter
    c0 = cpu0 if a.at_cpu else t0  # both clocks include building the Trainer
    copies = []
    for m in moments:
        if by_steps:
            tr.run(m - tr.step_num)
        else:
            while clock() - c0 < m:
                tr.step()
        copies.append(
            (
                m,
                tr.step_num,
                time.perf_counter() - t0,
                time.process_time() - cpu0,
                copy.deepcopy(tr.sampling_generator()),
                copy.deepcopy(tr.G),
            )
        )
    tr.flush()
    during = load_avg()

    gen = torch.Generator().manual_seed(0)
    real = data.images[torch.randperm(len(data), generator=gen)[: 2 * a.n]]
    real_a, real_b = real[: a.n], real[a.n :]
    out = Path(a.out) if a.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    rows = []
    for m, step, wall, cpu, G, G_raw in copies:
        row = {"at": m, "unit": unit, "step": step, "seconds": round(wall, 1)}
        row["cpu_seconds"] = round(cpu, 1)
        for name, net in (("swd", G), ("swd_raw", G_raw)):
            fake = generated_images(net.float(), cfg.model.nz, a.n, seed=1)
            row[name] = swd(fake, real_a, seed=0)["mean"]
            if out:
                kind = "" if name == "swd" else "-raw"
                grid_image(fake[:64], nrow=8, scale=2).save(out / f"{a.tag}_{m:g}{unit}{kind}.png")
        rows.append(row)
    r = {
        "tag": a.tag,
        "dataset": a.dataset,
        "overrides": parse_sets(a.set),
        "image_size": cfg.model.image_size,
        "precision": tr.precision,
        "threads": a.threads,
        "ema_decay": cfg.train.ema_decay,
        "diffaugment": cfg.train.diffaugment,
        "rows": rows,
        "swd_real_vs_real": swd(real_b, real_a, seed=0)["mean"] if len(real_b) >= 2 else None,
        "load_avg_1m_before": before,
        "load_avg_1m_after_training": during,
        "machine": machine("cpu"),
    }
    if out:
        (out / f"{a.tag}.json").write_text(json.dumps(r, indent=1))
    return r


def summary(r: dict) -> str:
    """One line per moment."""
    lines = [
        f"{r['tag']}: {r['dataset']} {r['image_size']}px {r['precision']} {r['threads']} thread(s) "
        f"ema {r['ema_decay']} diffaugment {r['diffaugment'] or 'off'} {r['overrides']} "
        f"(load {r['load_avg_1m_before']} -> {r['load_avg_1m_after_training']})"
    ]
    for row in r["rows"]:
        lines.append(
            f"  at {row['at']:>6g} {row['unit']}: step {row['step']:5d} "
            f"({row['seconds']:6.1f} s, {row['cpu_seconds']:6.1f} cpu-s)  "
            f"SWD {row['swd']:6.1f}  raw G {row['swd_raw']:6.1f}"
        )
    return "\n".join(lines)


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--dataset": dict(default="shapes"),
    "--set": dict(nargs="*", default=[], help="config overrides, key=value"),
    "--at": dict(type=float, nargs="+", default=[30, 60, 180], help="seconds"),
    "--at-cpu": dict(type=float, nargs="+", help="CPU seconds instead of wall"),
    "--at-steps": dict(type=int, nargs="+", help="steps instead of seconds"),
    "--threads": dict(type=int, default=1),
    "--n": dict(type=int, default=512, help="images per set for the SWD"),
    "--out": dict(help="folder for the grids and a JSON of the figures"),
    "--tag": dict(default="run", help="file name prefix in --out"),
}


def main(argv: list[str] | None = None) -> int:
    """Parse, run, print."""
    p = parser("bench.classroom_tune", __doc__, OPTIONS)
    a = p.parse_args(argv)
    r = run(a)
    print(json.dumps(r) if a.json else summary(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

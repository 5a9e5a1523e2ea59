"""One engine throughput measurement in a fresh process; prints one JSON line.

The other benchmarks call this as a program, like the reference loop, so every measurement
starts from the same state (a fresh process, fresh thread pool, fresh allocator). The switches
turn each of the engine's speed-ups off for the ablation; the defaults are what ships.

    python -m bench.engine_run --data ../shared/data/pokemon.zip --batch-size 64 --steps 30
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from bench import BenchError, benchmark_data, load_avg, python


def build_trainer(a: argparse.Namespace):
    """A d2l-preset Trainer on the benchmark data, with the requested switches applied."""
    from dcgan.config import Config
    from dcgan.data import load
    from dcgan.trainer import Trainer

    over = {
        "train.batch_size": a.batch_size,
        "train.device": a.device,
        "train.precision": a.precision,
        "train.channels_last": a.channels_last,
        "train.log_every": a.log_every,
        "model.image_size": a.image_size,
        "model.ngf": a.ngf,
        "model.ndf": a.ndf,
    }
    cfg = Config.with_overrides(a.preset, over)
    data = load(a.data, cfg.model.image_size)
    tr = Trainer(cfg, data)
    tr.reuse_fake = a.reuse_fake
    tr.freeze_d_in_g_step = a.freeze_d
    if a.adam != "default":
        t = cfg.train
        kw = {"lr": t.lr, "betas": (t.beta1, t.beta2), a.adam: True}
        tr.opt_G = torch.optim.Adam(tr.G.parameters(), **kw)
        tr.opt_D = torch.optim.Adam(tr.D.parameters(), **kw)
    return tr, len(data)


def measure(a: argparse.Namespace) -> dict:
    """Warm up, then time `steps` training steps, ending with the engine's host sync."""
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.flush_denormal:
        torch.set_flush_denormal(True)
    tr, n_images = build_trainer(a)
    sync = torch.cuda.synchronize if tr.device.type == "cuda" else (lambda: None)
    tr.run(a.warmup)
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    tr.run(a.steps)  # run() ends with flush(): the metrics reach the host, so work is done
    sync()
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0  # on a busy machine, 1 thread: the work alone
    h = tr.history.columns
    return {
        "examples_per_sec": a.steps * tr.global_batch / seconds,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "steps": a.steps,
        "warmup": a.warmup,
        "batch_size": a.batch_size,
        "images": n_images,
        "device": str(tr.device),
        "precision": tr.precision,
        "channels_last": a.channels_last,
        "reuse_fake": a.reuse_fake,
        "freeze_d": a.freeze_d,
        "log_every": a.log_every,
        "adam": a.adam,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_avg_1m": load_avg(),
        "final_loss_D": h["loss_D"][-1],
        "final_loss_G": h["loss_G"][-1],
    }


def passed_options(steps: int = 30) -> dict[str, dict]:
    """The switches a benchmark that drives this program takes and passes on through
    command() (flag -> add_argument's keywords), with its own default of timed steps."""
    return {
        "--device": dict(default="cpu", help="cpu or cuda"),
        "--batch-size": dict(type=int, default=64),
        "--steps": dict(type=int, default=steps, help="timed steps per run"),
        "--warmup": dict(type=int, default=5, help="untimed steps first"),
    }


def command(a: argparse.Namespace, data: str) -> list[str]:
    """This program on `data` with a benchmark's device, batch size, timed steps and warm-up;
    the caller appends the switches it varies (the defaults are what ships)."""
    cmd = [python(), "-m", "bench.engine_run", "--data", data, "--device", a.device]
    cmd += ["--batch-size", str(a.batch_size), "--steps", str(a.steps)]
    return cmd + ["--warmup", str(a.warmup)]


def parser() -> argparse.ArgumentParser:
    """This program's switches: the ones a driving benchmark passes on, then the engine's."""
    p = argparse.ArgumentParser(prog="python -m bench.engine_run", description=__doc__)
    p.add_argument("--data", help="ImageFolder zip/folder or a named source (default: pokemon)")
    for flag, kwargs in passed_options().items():
        p.add_argument(flag, **kwargs)
    p.add_argument("--preset", default="d2l")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--ngf", type=int)
    p.add_argument("--ndf", type=int)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--reuse-fake", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--freeze-d", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--log-every", type=int, default=10, help="1 = a host sync every step")
    p.add_argument("--adam", default="default", choices=["default", "foreach", "fused"])
    p.add_argument("--flush-denormal", action="store_true")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Print one JSON object with examples/sec and the settings used."""
    a = parser().parse_args(argv)
    try:
        a.data = a.data or str(benchmark_data())
        print(json.dumps(measure(a)))
    except (BenchError, ValueError) as e:  # ConfigError and DataError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

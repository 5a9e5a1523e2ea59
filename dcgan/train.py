"""The training CLI: `python -m dcgan.train`, a run folder the app can watch, and torchrun.

It trains in this process with the same loop as an app job (dcgan.runs.loop.drive) and writes the
same run folder, so a run started here can be watched live in the app (Train page, "Watch a
run"), and paused or stopped from there. It holds the lock of the folder above --out, so the
app does not start a second job beside it.

The CLI also runs under torchrun: each process trains on its own slice of every global batch,
DistributedDataParallel averages the gradients, and only rank 0 prints and writes the run
folder (controls from the app are not followed under torchrun: every rank would have to agree).

    python -m dcgan.train --preset d2l --dataset pokemon --epochs 20 --out checkpoints/runs/pokemon

--export-every N also writes OUT/exports/step-NNNNNNN.safetensors (the final-style export:
checkpoint.export_final) and step-NNNNNNN-raw.safetensors (the raw G) every N steps and at the
last step: how the shipped generators are made (checkpoints/train_shipped.sh), so a run stopped
early leaves a usable generator at its last export.
    torchrun --standalone --nproc_per_node 2 -m dcgan.train --preset d2l --dataset pokemon ...
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from . import checkpoint as ckpt
from . import runs
from .config import D_NORMS, PRESETS, Config, ConfigError, presets_help
from .data import SOURCES, DataError, load
from .hardware import dist_world, init_distributed, set_thread_policy
from .history import NonFiniteError
from .losses import LOSSES
from .runs import JobBusyError, JobStatus
from .runs.loop import attach, attach_tensorboard, drive
from .runs.writer import RunWriter
from .trainer import Trainer


class _SilentWriter(RunWriter):
    """A torchrun rank other than 0: trains, writes nothing."""

    silent = True

    def __init__(self, cfg: Config, out: Path):
        self.cfg = cfg
        self.dir = out
        self._status = {}

    def status(self, force: bool = True, **changes) -> None:
        self._status.update(changes)

    def event(self, *a, **k) -> None:
        pass

    def metrics(self, *a, **k) -> None:
        pass

    def grid(self, *a, **k) -> None:
        pass

    def raw_grid(self, *a, **k) -> None:
        pass

    def generator(self, *a, **k) -> None:
        pass


def export_meta(tr: Trainer, wall: float, command: str) -> dict:
    """What an exported generator says about its making, in its safetensors metadata."""
    cfg = tr.cfg
    return {
        "step": tr.step_num,
        "preset": cfg.preset,
        "dataset": cfg.data.source,
        "wall_seconds": round(wall, 1),
        "device": str(tr.device),
        "precision": tr.precision,
        "threads": torch.get_num_threads(),
        "ema_decay": cfg.train.ema_decay,
        "diffaugment": cfg.train.diffaugment,
        "command": command,
    }


def exporter(out: Path, every: int, meta):
    """on_step hook: every `every` steps and at the last, export the final-style generator and
    the raw G to OUT/exports (meta() is the metadata at that moment)."""

    def on_step(tr: Trainer) -> None:
        if tr.step_num % every and tr.step_num != tr.total_steps:
            return
        m = meta()
        base = out / "exports" / f"step-{tr.step_num:07d}"
        ckpt.export_final(tr, base.with_suffix(".safetensors"), meta=m)
        ckpt.export_generator(tr.G, tr.cfg.model, f"{base}-raw.safetensors", meta=m)
        tqdm.write(f"step {tr.step_num}: exported {base}.safetensors")

    return on_step


def overrides_from_args(a: argparse.Namespace) -> dict:
    """The CLI flags as dotted config overrides (None: keep the preset's value)."""
    return {
        "data.source": a.dataset,
        "train.epochs": a.epochs,
        "train.steps": a.steps,
        "train.batch_size": a.batch_size,
        "train.lr": a.lr,
        "train.beta1": a.beta1,
        "train.seed": a.seed,
        "train.device": a.device,
        "train.precision": a.precision,
        "train.sample_every": a.sample_every,
        "train.ema_decay": a.ema_decay,
        "train.diffaugment": a.diffaugment,
        "train.loss": a.loss,
        "train.n_critic": a.n_critic,
        "model.d_norm": a.d_norm,
        "model.image_size": a.image_size,
        "model.ngf": a.ngf,
        "model.ndf": a.ndf,
        "model.nz": a.nz,
        "model.d_activation": a.d_activation,
        "model.leaky_alpha": a.alpha,
        "data.limit": a.limit,
        "data.classes": tuple(a.classes) if a.classes else None,
        "data.flip": True if a.flip else None,
    }


def build_config(a: argparse.Namespace) -> Config:
    """Apply CLI overrides to a preset; the dataclasses validate every field."""
    return Config.with_overrides(a.preset, overrides_from_args(a))


def parser() -> argparse.ArgumentParser:
    """The CLI's flags."""
    p = argparse.ArgumentParser(prog="python -m dcgan.train", description="Train a DCGAN.")
    p.add_argument("--preset", default="d2l", choices=sorted(PRESETS), help=presets_help())
    p.add_argument("--dataset", help=f"{', '.join(SOURCES)}, or a path (folder or zip)")
    p.add_argument(
        "--out",
        default="checkpoints/runs/latest",
        help="the run folder (watch it live in the app when it is under checkpoints/runs)",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int)
    g.add_argument("--steps", type=int, help="train exactly N steps instead of epochs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--beta1", type=float, help="Adam's β1 (momentum)")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    p.add_argument("--image-size", type=int)
    p.add_argument("--ngf", type=int)
    p.add_argument("--ndf", type=int)
    p.add_argument("--nz", type=int)
    p.add_argument("--d-activation", choices=["leaky_relu", "relu"])
    p.add_argument("--alpha", type=float, help="LeakyReLU slope in D")
    p.add_argument("--ema-decay", type=float, help="generator weight average; 0 turns it off")
    p.add_argument(
        "--diffaugment", help="DiffAugment policy, e.g. color,translation,cutout ('' off)"
    )
    p.add_argument(
        "--loss",
        choices=list(LOSSES),
        help="the GAN loss (dcgan.losses); bce is the chapter's, wgan-gp gets a layer-norm critic",
    )
    p.add_argument("--n-critic", type=int, help="D steps per G step (WGAN-GP's paper: 5)")
    p.add_argument("--d-norm", choices=list(D_NORMS), help="normalisation in D's blocks")
    p.add_argument("--classes", type=int, nargs="*", help="Fashion-MNIST class filter")
    p.add_argument("--limit", type=int, help="use at most N images")
    p.add_argument("--flip", action="store_true", help="random horizontal flips")
    p.add_argument("--sample-every", type=int)
    p.add_argument("--resume", help="continue from a checkpoint (.pt)")
    p.add_argument("--export", action="store_true", help="also write a generator .safetensors")
    p.add_argument(
        "--export-every",
        type=int,
        metavar="N",
        help="also export the generator and the raw G to OUT/exports every N steps",
    )
    p.add_argument("--threads", type=int, help="torch threads (default: all cores but one)")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard events to OUT/tb as it trains (any run folder can be "
        "converted later with python -m dcgan.tensorboard RUN_DIR)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Train from the command line; print one line per epoch (rank 0 only under torchrun)."""
    a = parser().parse_args(argv)
    distributed = False
    out: Path | None = None
    w: RunWriter | None = None
    slot = contextlib.ExitStack()  # the runs folder's job slot, held by rank 0
    try:
        distributed = init_distributed(a.device or "auto")
        lead = dist_world()[0] == 0  # under torchrun only rank 0 prints and saves
        if a.resume and a.dataset is None:
            saved = Config.from_dict(ckpt.load(a.resume)["config"])
            a.dataset = saved.data.source
        cfg = build_config(a)
        out = Path(a.out)
        if lead:
            try:  # find out now, not after an hour of training, that the folder cannot be written
                out.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ConfigError(
                    f"cannot write checkpoints to {out} ({e.strerror or e}); "
                    "pick another --out folder."
                ) from e
            slot.enter_context(runs.JobSlot(out.parent, out))
            set_thread_policy(a.threads)
            w = RunWriter(out, cfg)
            runs.write_pid(out, os.getpid())
            w.status(status=JobStatus.LOADING, pid=os.getpid(), started_at=time.time(), step=0)
        else:
            w = _SilentWriter(cfg, Path(a.out))
        t0 = time.perf_counter()
        if distributed and not lead:
            dist.barrier()  # rank 0 decodes first; the others then read its cache
        data = load(
            cfg.data.source,
            cfg.model.image_size,
            cfg.data.classes,
            cfg.data.limit,
            cache=cfg.data.cache,
        )
        if distributed and lead:
            dist.barrier()
        tr = Trainer(cfg, data)
        if a.resume:
            tr.load_state_dict(ckpt.load(a.resume, map_location=tr.device))
        attach(tr, w)
        tb = attach_tensorboard(tr, out) if a.tensorboard and lead else None
        batch = f"batch {cfg.train.batch_size}"
        if tr.world_size > 1:
            batch += f" x {tr.world_size} processes"
        if lead:
            print(
                f"{len(data)} images from {cfg.data.source} ({time.perf_counter() - t0:.1f}s), "
                f"preset {cfg.preset}, {tr.total_steps} steps of {batch}, "
                f"device {tr.device}, {tr.precision}; watching: {out}",
                flush=True,
            )
        bar = tqdm(
            total=tr.total_steps,
            initial=tr.step_num,
            unit="step",
            dynamic_ncols=True,
            disable=not lead,
        )
        epoch_t0 = [time.perf_counter(), tr.step_num]

        def on_epoch_end(trainer):
            h = trainer.history.columns
            n = max(1, trainer.step_num - epoch_t0[1])
            secs = time.perf_counter() - epoch_t0[0]
            eps = n * trainer.global_batch / max(secs, 1e-9)  # all ranks together
            epoch_t0[:] = [time.perf_counter(), trainer.step_num]
            if lead:
                tqdm.write(
                    f"epoch {trainer.epoch}: loss_D {np.mean(h['loss_D'][-n:]):.3f}, "
                    f"loss_G {np.mean(h['loss_G'][-n:]):.3f}, {eps:.0f} examples/sec, "
                    f"device {trainer.device}"
                )

        tr.add_callback("on_step", lambda trainer: bar.update(1))
        tr.add_callback("on_epoch_end", on_epoch_end)
        run_t0 = time.perf_counter()
        command = "python -m dcgan.train " + " ".join(sys.argv[1:] if argv is None else argv)

        def meta() -> dict:
            return export_meta(tr, time.perf_counter() - run_t0, command)

        every = a.export_every if lead else None
        inbox = runs.ControlInbox(out) if lead and not distributed else None
        end = drive(tr, w, inbox, on_step=exporter(out, every, meta) if every else None)
        bar.close()
        wall = time.perf_counter() - run_t0
        w.status(status=end, step=tr.step_num, epoch=tr.epoch)
        if tb is not None:
            tb.close()
        if not lead:
            return 0
        path = out / runs.LAST
        print(f"trained to step {tr.step_num} in {wall:.0f} s on {tr.device} ({tr.precision})")
        print(
            f"checkpoint written to {path}"
            + (" (stopped from the app)" if end == "stopped" else "")
        )
        if a.export:
            gpath = ckpt.export_final(tr, out / runs.GENERATOR, meta=meta())
            print(f"generator written to {gpath}")
    except JobBusyError as e:
        print(f"error: {e} (or pass an --out folder elsewhere)", file=sys.stderr)
        return 2
    except (ConfigError, DataError, ckpt.CheckpointError, NonFiniteError) as e:
        if w is not None:
            w.status(status=JobStatus.FAILED, error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk or a folder that vanished mid-run
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if w is not None:
            w.status(status=JobStatus.STOPPED)
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        slot.close()
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

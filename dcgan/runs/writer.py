"""The training side of a run folder: status, metric rows, grids, snapshots and checkpoints."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from .. import checkpoint as ckpt
from .. import runs
from ..config import Config
from ..history import MAX_TIMELINE, METRICS, NonFiniteError, thinned
from ..images import grid_array, png_bytes
from ..trainer import Trainer

STATUS_EVERY_S = 0.5  # status.json refresh while training: readers poll about once a second
GENERATOR_EVERY_S = 1.0  # generator snapshots at most this often (the latent pages read them)


class RunWriter:
    """The training side of a run folder: status, metric rows, grids and snapshots."""

    silent = False  # True for a writer that writes nothing (torchrun ranks other than 0)

    def __init__(self, run_dir: str | Path, cfg: Config, fresh: bool = True):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / runs.SAMPLES).mkdir(exist_ok=True)
        if fresh:  # a folder reused by the CLI starts clean: no old rows, frames or commands
            for name in (runs.METRICS, runs.EVENTS, runs.CONTROL, runs.PID):
                (self.dir / name).unlink(missing_ok=True)
            for _, p in runs.timeline(self.dir):
                p.unlink(missing_ok=True)
        if not (self.dir / runs.CONFIG).exists() or fresh:
            runs.write_json(self.dir / runs.CONFIG, cfg.to_dict())
        self.cfg = cfg
        self._status = runs.read_json(self.dir / runs.STATUS) or {}
        self._status_t = 0.0
        self._gen_t = 0.0
        self._frames = len(runs.timeline(self.dir))

    def status(self, force: bool = True, **changes) -> None:
        """Merge changes into status.json; unforced writes happen at most every STATUS_EVERY_S."""
        self._status.update(changes)
        now = time.time()
        if force or now - self._status_t >= STATUS_EVERY_S:
            self._status["updated_at"] = now
            runs.write_json(self.dir / runs.STATUS, self._status)
            self._status_t = now

    def get(self, key: str, default=None):
        """A field of the status as last written."""
        return self._status.get(key, default)

    def event(self, kind: str, step: int, **info) -> None:
        """A mark for the charts (a pause, an lr change, a save)."""
        runs.append_jsonl(self.dir / runs.EVENTS, [{"kind": kind, "step": step, **info}])

    def metrics(self, tr: Trainer, rows: torch.Tensor) -> None:
        """Append the rows the trainer just flushed, one per step."""
        n = len(rows)
        steps = tr.history.step[-n:]
        eps = tr.history.columns["examples_per_sec"][-1] if tr.history.step else 0.0
        out = []
        for s, r in zip(steps, rows.tolist(), strict=True):
            out.append({"step": s, **dict(zip(METRICS, r, strict=True)), "examples_per_sec": eps})
        runs.append_jsonl(self.dir / runs.METRICS, out)
        self.status(force=False, step=tr.step_num, epoch=tr.epoch, examples_per_sec=eps)

    def grid(self, step: int, grid) -> None:
        """Encode the fixed-noise grid once, as a timeline frame and as the latest grid."""
        data = png_bytes(grid)
        runs.write_atomic(self.dir / runs.SAMPLES / f"step-{step:07d}.png", data)
        self._frames += 1
        if self._frames > MAX_TIMELINE:
            kept, dropped = thinned(runs.timeline(self.dir))
            for _, p in dropped:
                p.unlink(missing_ok=True)
            self._frames = len(kept)
        runs.write_atomic(self.dir / runs.GRID, data)

    def raw_grid(self, tr: Trainer) -> None:
        """The fixed noise through the raw G, beside the average's grid."""
        raw = grid_array(tr.sample_raw(), nrow=int(math.sqrt(len(tr.fixed_noise))))
        runs.write_atomic(self.dir / runs.GRID_RAW, png_bytes(raw))

    def generator(self, tr: Trainer, force: bool = False, final: bool = False) -> None:
        """Snapshot the sampling generator for the latent pages (throttled); final: the run's
        last one, exported as every final generator is (checkpoint.export_final)."""
        now = time.time()
        if not force and now - self._gen_t < GENERATOR_EVERY_S:
            return
        self._gen_t = now
        path = self.dir / runs.GENERATOR
        meta = {"step": tr.step_num, "preset": self.cfg.preset, "dataset": self.cfg.data.source}
        if final:
            ckpt.export_final(tr, path, meta=meta)
        else:
            ckpt.export_generator(tr.sampling_generator(), self.cfg.model, path, meta=meta)


def check_finite_state(tr: Trainer) -> None:
    """Raise NonFiniteError if any weight or buffer is NaN/inf (losses can hide a bad BN stat)."""
    for net_name, net in (("G", tr.G), ("D", tr.D)):
        for name, v in net.state_dict().items():
            if v.is_floating_point() and not bool(torch.isfinite(v).all()):
                raise NonFiniteError(
                    f"training diverged near step {tr.step_num}: {net_name}'s {name} "
                    "became NaN/inf. Try a lower learning rate or the 'paper' preset."
                )


def save_last(tr: Trainer, w: RunWriter) -> Path:
    """Write the last-good checkpoint, only after checking every weight is finite."""
    if w.silent:  # a torchrun rank other than 0: rank 0 writes the run's checkpoints
        return w.dir / runs.LAST
    tr.flush()  # raises NonFiniteError before a bad state can be saved
    check_finite_state(tr)
    path = ckpt.save(tr.state_dict(), w.dir / runs.LAST)
    w.status(checkpoint_path=str(path))
    return path

"""Run records for TensorBoard: a run folder's scalars and sample grids as event files.

Live, from a training process:

    tb = TBWriter(run_dir / "tb")
    tb.add_scalars(step, {"loss_D": 0.7, "loss_G": 1.9})
    tb.add_grid(step, grid)  # uint8 (H, W, 3), e.g. dcgan.images.grid_array(samples)
    tb.close()

After the fact, from any run folder (metrics.jsonl: one JSON object per line with "step" and
numeric metrics; samples/step-000123.png: the timeline's grids):

    python -m dcgan.tensorboard RUN_DIR      # writes RUN_DIR/tb/
    tensorboard --logdir RUN_DIR/tb          # or --logdir checkpoints/runs for every run

TensorBoard itself is imported only when a writer is made, so the rest of the engine (and
the Space) never needs it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import runs

TB_DIR = "tb"
NOT_METRICS = {"step", "time", "wall_time", "walltime", "epoch"}  # bookkeeping, not curves
WALLTIME_KEYS = ("time", "wall_time", "walltime")  # seconds since the epoch, when a row has one


class TBWriter:
    """A tiny writer over torch.utils.tensorboard.SummaryWriter: scalars by name, one grid."""

    def __init__(self, log_dir: str | Path, flush_secs: int = 10):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # torch's writer needs the tensorboard package
            raise RuntimeError(
                "TensorBoard is not installed: run `pip install -r requirements.txt` "
                "(it pins tensorboard) to write run records."
            ) from e
        self.log_dir = Path(log_dir)
        self._w = SummaryWriter(str(self.log_dir), flush_secs=flush_secs)

    def add_scalars(
        self, step: int, values: dict[str, float], walltime: float | None = None
    ) -> None:
        """One point per metric, each its own chart (non-numbers are skipped)."""
        for name, v in values.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            self._w.add_scalar(name, float(v), int(step), walltime=walltime)

    def add_grid(
        self, step: int, grid: np.ndarray, tag: str = "samples", walltime: float | None = None
    ) -> None:
        """A uint8 (H, W, 3) picture on TensorBoard's Images tab, with a step slider."""
        arr = np.asarray(grid)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(
                f"add_grid takes a uint8 (H, W, 3) array, got {arr.dtype} {arr.shape}; "
                "use dcgan.images.grid_array to make one."
            )
        self._w.add_image(tag, arr, int(step), walltime=walltime, dataformats="HWC")

    def flush(self) -> None:
        """Push pending events to disk now."""
        self._w.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._w.close()

    def __enter__(self) -> TBWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl that have a step (the run folder's own reader)."""
    rows = runs.JsonlTail(path).read()
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("step"), (int, float))]


class Export(NamedTuple):
    """What export_run wrote."""

    log_dir: Path
    rows: int  # metric rows written
    grids: int  # sample grids written


def export_run(run_dir: str | Path) -> Export:
    """Convert a run folder's metrics.jsonl and samples/step-*.png into RUN_DIR/tb/.

    Running it again replaces the earlier export instead of doubling every curve.
    """
    from PIL import Image

    run_dir = Path(run_dir)
    rows = read_metrics(run_dir / runs.METRICS)
    samples = runs.timeline(run_dir)
    if not run_dir.is_dir() or (not rows and not samples):
        raise ValueError(
            f"{run_dir} holds no {runs.METRICS} rows and no {runs.SAMPLES}/step-*.png: "
            "point at a run folder (e.g. checkpoints/runs/NAME)."
        )
    out = run_dir / TB_DIR
    if out.is_dir():
        for old in out.glob("events.out.tfevents.*"):
            old.unlink()
    with TBWriter(out) as tb:
        for row in rows:
            wall = next(
                (row[k] for k in WALLTIME_KEYS if isinstance(row.get(k), (int, float))), None
            )
            metrics = {k: v for k, v in row.items() if k not in NOT_METRICS}
            tb.add_scalars(int(row["step"]), metrics, walltime=wall)
        for step, path in samples:
            with Image.open(path) as img:
                tb.add_grid(step, np.asarray(img.convert("RGB")))
    return Export(out, len(rows), len(samples))


def main(argv: list[str] | None = None) -> int:
    """Export one or more run folders for TensorBoard."""
    p = argparse.ArgumentParser(
        prog="python -m dcgan.tensorboard", description=__doc__.split("\n")[0]
    )
    p.add_argument("run_dirs", nargs="+", help="run folders (holding metrics.jsonl, samples/)")
    a = p.parse_args(argv)
    status = 0
    for d in a.run_dirs:
        try:
            r = export_run(d)
        except (ValueError, OSError, RuntimeError) as e:
            print(f"error: {e}", file=sys.stderr)
            status = 2
            continue
        print(f"{d}: {r.rows} metric rows and {r.grids} grids written to {r.log_dir}")
        print(f"  open it with: tensorboard --logdir {r.log_dir}")
    return status


if __name__ == "__main__":
    sys.exit(main())

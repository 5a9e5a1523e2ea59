"""What a training run records in memory: its metric columns and its timeline of grids."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

METRICS = ("loss_D", "loss_G", "D_x", "D_G_z1", "D_G_z2", "grad_norm_G", "grad_norm_D")
MAX_TIMELINE = 200  # timeline frames kept, in memory and on disk, so a long run stays small


class NonFiniteError(RuntimeError):
    """A loss or gradient became NaN or inf."""


def thinned(frames: list) -> tuple[list, list]:
    """(kept, dropped) of a timeline over MAX_TIMELINE: the first and the newest frame stay,
    every other one between them goes, so the frames still span the whole run."""
    if len(frames) <= MAX_TIMELINE:
        return list(frames), []
    dropped = frames[1:-1:2]
    return [f for i, f in enumerate(frames) if not (0 < i < len(frames) - 1 and i % 2)], dropped


@dataclass
class History:
    """Append-only metric columns; readers copy a prefix, so sharing across threads is safe."""

    step: list[int] = field(default_factory=list)
    columns: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in METRICS + ("examples_per_sec",)}
    )

    def __len__(self) -> int:
        return len(self.step)

    def to_state(self) -> dict:
        """Tensors for a checkpoint."""
        return {
            "step": torch.tensor(self.step, dtype=torch.int64),
            **{k: torch.tensor(v, dtype=torch.float64) for k, v in self.columns.items()},
        }

    @classmethod
    def from_state(cls, d: dict) -> History:
        """Rebuild from to_state()."""
        h = cls()
        h.step = d["step"].tolist()
        for k in h.columns:
            if k in d:
                h.columns[k] = d[k].tolist()
        return h

    def add(self, rows: torch.Tensor, last_step: int, eps: float) -> None:
        """Append one row per step (METRICS columns) ending at last_step; NonFiniteError when
        any value is NaN or inf, before anything is appended."""
        if not torch.isfinite(rows).all():
            bad = [METRICS[j] for j in range(len(METRICS)) if not torch.isfinite(rows[:, j]).all()]
            raise NonFiniteError(
                f"training diverged near step {last_step}: {', '.join(bad)} became NaN/inf. "
                "Try a lower learning rate or the 'paper' preset."
            )
        n = len(rows)
        self.step.extend(range(last_step - n + 1, last_step + 1))
        for j, k in enumerate(METRICS):
            self.columns[k].extend(rows[:, j].tolist())
        self.columns["examples_per_sec"].extend([eps] * n)

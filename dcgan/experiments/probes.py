"""Probes an experiment records while an arm trains: dead units of D per block (probes.jsonl)."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import runs

PROBES = "probes.jsonl"
PROBE_EVERY = 10  # steps between dead-unit probes: ~15 points per arm
PROBE_N = 64  # real images in the probe's fixed batch: one D forward, milliseconds


class DeadUnitProbe:
    """on_step hook: every `every` steps, the fraction of D's units per block that are dead on
    a fixed batch of real images (dcgan.inside.dead_unit_fractions), appended to probes.jsonl."""

    def __init__(self, run_dir: Path, every: int = PROBE_EVERY, n: int = PROBE_N, seed: int = 0):
        self.path = Path(run_dir) / PROBES
        self.every, self.n, self.seed = every, n, seed
        self.batch: torch.Tensor | None = None
        self.rows: list[dict] = []

    def __call__(self, tr) -> None:
        """Probe at step 1, every `every` steps and at the last step."""
        from ..inside import dead_unit_fractions

        s = tr.step_num
        if not (s == 1 or s % self.every == 0 or s == tr.total_steps):
            return
        if self.batch is None:  # the same images every probe, picked by the seed
            g = torch.Generator().manual_seed(self.seed)
            idx = torch.randperm(len(tr.images), generator=g)[: self.n]
            self.batch = tr.images[idx.to(tr.images.device)]
        row = {"step": s, **dead_unit_fractions(tr.D, self.batch)}
        runs.append_jsonl(self.path, [row])
        self.rows.append(row)


def read_probes(run_dir: str | Path) -> dict[str, tuple[list, list]]:
    """{block: (steps, dead fractions)} from an arm's probes.jsonl ({} when it has none)."""
    rows = runs.JsonlTail(Path(run_dir) / PROBES).read()
    out: dict[str, tuple[list, list]] = {}
    for r in rows:
        for k, v in r.items():
            if k != "step":
                out.setdefault(k, ([], []))
                out[k][0].append(r["step"])
                out[k][1].append(v)
    return out

"""An experiment's results: experiment.json, its states, and reading it back with a liveness check.

ROOT/<time>-exp-<name>/experiment.json   the plan, progress and results (replaced atomically)
ROOT/<time>-exp-<name>/pid.json          the experiment's process
ROOT/<time>-exp-<name>/control.jsonl     "stop": no further arm starts
ROOT/<time>-exp-<name>/<arm>/            a run folder (+ probes.jsonl, quality.json)
"""

from __future__ import annotations

import statistics
from enum import StrEnum
from pathlib import Path

from .. import runs
from ..i18n import _

EXPERIMENT = "experiment.json"


class ExperimentStatus(StrEnum):
    """Where an experiment is; an arm not yet started is WAITING, then carries its JobStatus."""

    WAITING = "waiting"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"


LIVE = frozenset({ExperimentStatus.STARTING, ExperimentStatus.RUNNING})
ENDED = frozenset({ExperimentStatus.STOPPED, ExperimentStatus.FINISHED, ExperimentStatus.FAILED})


def read_experiment(exp_dir: str | Path) -> dict | None:
    """experiment.json with the liveness check every run folder gets (dcgan.runs.process): a
    running experiment whose process is gone reads as FAILED, with the end of its log."""
    exp_dir = Path(exp_dir)

    def why(_spec: dict) -> str:
        tail = runs.log_tail(exp_dir)
        # read by the Experiments page, in its reader's language; nothing writes it to a file
        if tail:
            return _(
                "the experiment's process ended without finishing. The end of its log:\n{tail}"
            ).format(tail=tail)
        return _("the experiment's process ended without finishing.")

    return runs.checked_record(exp_dir, EXPERIMENT, LIVE, ExperimentStatus.FAILED, why)


def list_experiments(root: str | Path) -> list[Path]:
    """Experiment folders under root, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and (p / EXPERIMENT).exists()]
    return sorted(
        found,
        key=lambda p: float((runs.read_json(p / EXPERIMENT) or {}).get("started_at") or 0),
        reverse=True,
    )


def live_experiment(root: str | Path) -> Path | None:
    """The experiment whose arm holds the runs folder's lock now, else None."""
    held = runs.read_lock(Path(root))
    if held is None:
        return None
    run = Path(held.get("run", ""))
    return run.parent if (run.parent / EXPERIMENT).exists() else None


def measured_eps(root: str | Path) -> tuple[float, str] | None:
    """(median examples/sec, experiment folder name) of the newest experiment under root whose
    arms trained, so the next estimate uses this machine's own speed; None when none did."""
    for d in list_experiments(root):
        spec = runs.read_json(d / EXPERIMENT) or {}
        eps = [a["examples_per_sec"] for a in spec.get("arms", []) if a.get("examples_per_sec")]
        if eps:
            return float(statistics.median(eps)), d.name
    return None


def summary(spec: dict) -> str:
    """A plain-text table of an experiment's arms: status, time, quality, dead units."""
    lines = [f"{spec['title']}  [{spec.get('status')}]"]
    for a in spec["arms"]:
        q = (a.get("quality") or {}).get("swd")
        line = f"  {a['label']:<36} {a.get('status', '?'):<9}"
        if a.get("seconds") is not None:
            line += f" {a['seconds']:6.1f} s"
        if a.get("examples_per_sec"):
            line += f"  {a['examples_per_sec']:6.0f} ex/s"
        line += f"  SWD x1e3 {q:7.2f}" if q is not None else "  SWD -"
        if a.get("baseline") is not None:
            line += f" (real vs real {a['baseline']:.2f})"
        if a.get("coverage"):
            line += f"  classes {a['coverage']['covered']}/{a['coverage']['of']}"
        dead = a.get("dead_units")
        if dead:
            last = {k: v["values"][-1] for k, v in dead.items() if v["values"]}
            peak = {k: max(v["values"]) for k, v in dead.items() if v["values"]}
            line += "  dead (final/peak) " + " ".join(
                f"{k} {last[k]:.0%}/{peak[k]:.0%}" for k in last
            )
        if a.get("error"):
            line += f"\n      error: {a['error'].splitlines()[0]}"
        lines.append(line)
    return "\n".join(lines)

"""Running an experiment: its arms one after another, in one process on the runs folder's slot.

The process holds the runs folder's one job slot for the whole experiment, so an experiment
waits for (and blocks) a training job like any other. Each arm is an ordinary run folder
(dcgan.runs.job.prepare + run_job) nested under the experiment's folder, so the Train page, the
Compare page and the CLI read an arm like any other run. While an arm trains, the slot points at
it, so the Train page shows it live and its Stop works; an arm that ends STOPPED ends the
experiment. A failed arm (say, a diverging lr) is a result, recorded, and the next arm runs.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .. import compare, runs
from ..config import Config, ConfigError, parse_sets
from ..runs import JobSlot, JobStatus
from .catalog import BASE_PRESET, CATALOG, STEPS, Experiment, all_experiments, experiment
from .results import EXPERIMENT, ExperimentStatus, read_experiment, summary

MODULE = "dcgan.experiments"  # `python -m dcgan.experiments EXP_DIR`: an experiment's process


def _plan(exp: Experiment) -> dict:
    """experiment.json before any arm has run."""
    return {
        "name": exp.name,
        "title": exp.title,
        "question": exp.question,
        "look_for": exp.look_for,
        "base_preset": BASE_PRESET,
        "base": exp.base,
        "probe": exp.probe,
        "quality_n": exp.quality_n,
        "estimate_s": exp.estimate_s(),
        "status": ExperimentStatus.STARTING,
        "current": None,
        "started_at": time.time(),
        "arms": [
            {
                "key": a.key,
                "label": a.label,
                "overrides": a.overrides,
                "status": ExperimentStatus.WAITING,
            }
            for a in exp.arms
        ],
    }


def _arm_config(spec: dict, arm: dict) -> Config:
    """An arm's config from experiment.json."""
    return Config.with_overrides(
        spec.get("base_preset", BASE_PRESET), {**spec["base"], **arm["overrides"]}
    )


def prepare_experiment(exp: Experiment, root: str | Path, paused: bool = False) -> Path:
    """A new experiment folder with its plan and its first arm's run folder; returns it."""
    from ..runs.job import prepare

    root = Path(root)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-exp-{exp.name}"
    exp_dir, n = root / base, 1
    while exp_dir.exists():
        exp_dir, n = root / f"{base}-{n}", n + 1
    exp_dir.mkdir(parents=True)
    spec = _plan(exp)
    first = spec["arms"][0]
    prepare(_arm_config(spec, first), exp_dir, name=first["key"], paused=paused)
    runs.write_json(exp_dir / EXPERIMENT, spec)
    return exp_dir


def _first_arm(exp_dir: Path) -> Path:
    """The run folder of an experiment's first arm."""
    return exp_dir / runs.read_json(exp_dir / EXPERIMENT)["arms"][0]["key"]


def _stop_requested(exp_dir: Path) -> bool:
    """Whether a reader asked the experiment to stop (control.jsonl)."""
    rows = runs.JsonlTail(exp_dir / runs.CONTROL).read()
    return any(r.get("cmd") == "stop" for r in rows)


def run_experiment(exp_dir: str | Path, slot: JobSlot, on_arm: Callable | None = None) -> str:
    """Run every arm of a prepared experiment in this process, one after another, pointing
    slot (the runs folder's, held by this process) at each; returns FINISHED or STOPPED."""
    from ..runs.job import prepare, run_job

    exp_dir = Path(exp_dir)
    spec = runs.read_json(exp_dir / EXPERIMENT)
    if spec is None:
        raise ConfigError(
            f"{exp_dir} has no {EXPERIMENT}; start experiments with dcgan.experiments."
        )
    entry = CATALOG.get(spec["name"])
    runs.write_pid(exp_dir, os.getpid())
    spec.update(status=ExperimentStatus.RUNNING, pid=os.getpid())
    runs.write_json(exp_dir / EXPERIMENT, spec)
    final = ExperimentStatus.FINISHED
    quality_n = spec.get("quality_n", compare.QUALITY_N)
    for i, arm in enumerate(spec["arms"]):
        if _stop_requested(exp_dir):
            final = ExperimentStatus.STOPPED
            break
        arm_dir = exp_dir / arm["key"]
        if not (arm_dir / runs.CONFIG).exists():
            arm_dir = prepare(_arm_config(spec, arm), exp_dir, name=arm["key"])
        slot.point(arm_dir)
        arm.update(status=JobStatus.RUNNING, dir=arm_dir.name, started_at=time.time())
        spec["current"] = i
        runs.write_json(exp_dir / EXPERIMENT, spec)
        probe = entry.probe(arm_dir) if entry is not None and entry.probe else None
        end = run_job(arm_dir, on_step=probe)
        st = runs.read_json(arm_dir / runs.STATUS) or {}
        arm.update(
            status=end,
            seconds=time.time() - arm["started_at"],
            steps=st.get("step", 0),
            examples_per_sec=st.get("examples_per_sec"),
            error=st.get("error"),
        )
        if end != JobStatus.STOPPED:
            try:
                arm["quality"] = compare.quality(arm_dir, n=quality_n)
                if entry is not None and entry.after_arm is not None:
                    entry.after_arm(arm, arm_dir, quality_n)
            except Exception as e:  # a broken snapshot costs this figure, not the experiment
                arm["quality_error"] = f"{type(e).__name__}: {e}"
        if probe is not None:
            from .probes import read_probes

            arm["dead_units"] = {
                k: {"steps": s, "values": v} for k, (s, v) in read_probes(arm_dir).items()
            }
        runs.write_json(exp_dir / EXPERIMENT, spec)
        if on_arm is not None:
            on_arm(arm)
        if end == JobStatus.STOPPED:
            final = ExperimentStatus.STOPPED
            break
    spec.update(status=final, current=None, ended_at=time.time())
    runs.write_json(exp_dir / EXPERIMENT, spec)
    return final


def run_here(exp: Experiment, root: str | Path, on_arm: Callable | None = None) -> Path:
    """Run an experiment in this process on root's job slot (JobBusyError while one is
    taken); returns its folder."""
    root = Path(root)
    with JobSlot(root, root / f"exp-{exp.name}") as slot:
        exp_dir = prepare_experiment(exp, root)
        slot.point(_first_arm(exp_dir))
        run_experiment(exp_dir, slot, on_arm=on_arm)
    return exp_dir


def start_experiment(
    name: str,
    root: str | Path,
    *,
    steps: int | None = None,
    classes: tuple[int, ...] | None = None,
    base: dict | None = None,
    quality_n: int = compare.QUALITY_N,
    paused: bool = False,
    env: dict | None = None,
) -> Path:
    """Start an experiment in its own process; returns its folder. JobBusyError while a job
    (or another experiment) holds the runs folder."""
    from ..runs import launch

    exp = experiment(name, steps=steps, classes=classes, base=base, quality_n=quality_n)
    root = Path(root)
    with JobSlot(root, root / f"exp-{name}") as slot:
        exp_dir = prepare_experiment(exp, root, paused=paused)
        slot.point(_first_arm(exp_dir))
        proc = launch.spawn(MODULE, exp_dir, env=env)
        runs.write_pid(exp_dir, proc.pid)
        runs.write_pid(_first_arm(exp_dir), proc.pid)
        slot.hand_over(proc.pid)
    return exp_dir


def stop_experiment(exp_dir: str | Path) -> None:
    """No further arm starts, and the arm now training stops after its current step."""
    exp_dir = Path(exp_dir)
    runs.send_control(exp_dir, "stop")
    spec = runs.read_json(exp_dir / EXPERIMENT) or {}
    cur = spec.get("current")
    if cur is not None:
        runs.send_control(exp_dir / spec["arms"][cur]["key"], "stop")


def _child(exp_dir: Path) -> int:
    """The experiment process started by start_experiment, on the slot it was handed."""
    from ..hardware import set_thread_policy

    faulthandler.enable()
    set_thread_policy()
    with JobSlot.inherit(exp_dir.parent) as slot:
        final = run_experiment(exp_dir, slot)
    return 0 if final in (ExperimentStatus.FINISHED, ExperimentStatus.STOPPED) else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m dcgan.experiments list | run NAME --root DIR | show EXP_DIR`."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and (Path(argv[0]) / EXPERIMENT).exists():
        return _child(Path(argv[0]))
    p = argparse.ArgumentParser(
        prog="python -m dcgan.experiments",
        description="The chapter's exercises as experiments: arms run one after another.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the experiments, their arms and time estimates")
    r = sub.add_parser("run", help="run one experiment here, holding ROOT's job lock")
    r.add_argument("name", choices=list(CATALOG))
    r.add_argument("--root", default="checkpoints/runs", help="runs folder (default %(default)s)")
    r.add_argument("--steps", type=int, default=None, help=f"steps per arm (default {STEPS})")
    r.add_argument(
        "--classes", default=None, help="fashion-classes: e.g. 1,5,8 (default 0,1,5,8,9)"
    )
    r.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra base override, e.g. train.precision=fp32 (repeatable)",
    )
    s = sub.add_parser("show", help="print an experiment folder's results")
    s.add_argument("exp_dir")
    a = p.parse_args(argv)
    if a.cmd == "list":
        for e in all_experiments():
            print(f"{e.name:<16} {e.title}  ({len(e.arms)} arms, ~{e.estimate_s() / 60:.1f} min)")
            for arm in e.arms:
                print(f"    {arm.key:<22} {arm.label}")
        return 0
    if a.cmd == "show":
        spec = read_experiment(a.exp_dir)
        if spec is None:
            print(f"{a.exp_dir} is not an experiment folder (no {EXPERIMENT}).", file=sys.stderr)
            return 2
        print(summary(spec))
        return 0
    try:
        classes = tuple(int(c) for c in a.classes.split(",")) if a.classes else None
    except ValueError:
        print(
            f"--classes {a.classes!r}: give class numbers 0-9 separated by commas.", file=sys.stderr
        )
        return 2
    try:
        exp = experiment(a.name, steps=a.steps, classes=classes, base=parse_sets(a.set))
        exp.configs()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from ..hardware import set_thread_policy

    threads = set_thread_policy()
    print(
        f"{exp.title}: {len(exp.arms)} arms, estimated {exp.estimate_s() / 60:.1f} min "
        f"({threads} thread(s))",
        flush=True,
    )

    def said(arm):
        print(f"  {arm['label']}: {arm['status']} in {arm['seconds']:.0f} s", flush=True)

    try:
        exp_dir = run_here(exp, a.root, on_arm=said)
    except runs.JobBusyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(exp_dir)
    print(summary(read_experiment(exp_dir)))
    return 0

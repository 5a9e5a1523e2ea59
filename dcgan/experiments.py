"""Experiments: the chapter's exercises and the paper's choices as one-click comparisons.

Longer than the house's 400 lines on purpose: the experiments' definitions, their runner and
their results are one story a teacher reads from top to bottom.

An experiment is a list of arms, each a label and dotted config overrides on top of one short
classroom-scale base (the classroom-cpu preset, the same seed and the same data), run ONE AFTER
ANOTHER in one process that holds the runs folder's lock, so an experiment takes the one job
slot like any training job. Each arm is an ordinary run folder (dcgan.job.prepare + run_job),
nested under the experiment's folder, so the Train page, the Compare page and the CLI read an
arm like any other run:

    ROOT/<time>-exp-<name>/experiment.json   the plan, progress and results (replaced atomically)
    ROOT/<time>-exp-<name>/pid.json          the experiment's process
    ROOT/<time>-exp-<name>/control.jsonl     "stop": no further arm starts
    ROOT/<time>-exp-<name>/<arm>/            a run folder (+ probes.jsonl, quality.json)

While an arm trains, the lock's "run" names that arm, so the Train page shows it live and its
Stop works; an arm that ends STOPPED ends the experiment. A failed arm (say, a diverging lr) is
a result, recorded, and the next arm runs.

    python -m dcgan.experiments list
    python -m dcgan.experiments run relu --root /tmp/x [--steps 150] [--classes 1,5,8]
    python -m dcgan.experiments show ROOT/<time>-exp-relu
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import compare, runs
from .config import Config, ConfigError
from .data import FASHION_CLASSES
from .runs import JobStatus

BASE_PRESET = "classroom-cpu"  # 32 px, narrow widths: an arm is about a minute on a laptop CPU
STEPS = 600  # steps per arm: under a minute at the measured speed below; shapes appear by then
# Examples/sec of the classroom-cpu base measured on this repo's machine: 560 (bf16, 1 thread
# of a shared AMD EPYC with AVX512-BF16 under a load average of ~11; `python -m
# dcgan.experiments run relu` prints its own). A laptop's free core is faster, so the estimate
# errs long.
MEASURED_EPS = 560.0
LOAD_S = 5.0  # start of an arm: interpreter-free (same process), data from the cache
FIRST_FASHION_LOAD_S = 20.0  # Fashion-MNIST's first decode of 60,000 images into the cache
QUALITY_S = 5.0  # one SWD at n=256, 32 px
PROBE_EVERY = 10  # steps between dead-unit probes: ~15 points per arm
PROBE_N = 64  # real images in the probe's fixed batch: one D forward, milliseconds
DEFAULT_CLASSES = (0, 1, 5, 8, 9)  # T-shirt, Trouser, Sandal, Bag, Ankle boot: varied shapes
EXPERIMENT = "experiment.json"
PROBES = "probes.jsonl"
STARTING_GRACE_S = 30.0


@dataclass(frozen=True)
class Arm:
    """One arm: a folder-safe key, a label, and dotted overrides on the experiment's base."""

    key: str
    label: str
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """An experiment's plan: what it asks, what to look for, its arms and their shared base."""

    name: str
    title: str
    question: str
    look_for: str
    arms: tuple[Arm, ...]
    base: dict = field(default_factory=dict)
    probe: bool = False  # record dead-unit fractions of D per block over the run
    quality_n: int = compare.QUALITY_N

    def configs(self) -> list[Config]:
        """Each arm's validated config: the base preset, the base overrides, the arm's."""
        return [Config.with_overrides(BASE_PRESET, {**self.base, **a.overrides}) for a in self.arms]

    def estimate_s(self, eps: float = MEASURED_EPS) -> float:
        """Seconds for every arm, from the measured examples/sec (see MEASURED_EPS)."""
        total = 0.0
        fashion_first = True
        for cfg in self.configs():
            steps = cfg.train.steps or cfg.train.epochs * 100
            total += LOAD_S + steps * cfg.train.batch_size / eps + QUALITY_S
            if cfg.data.source == "fashion-mnist" and fashion_first:
                total += FIRST_FASHION_LOAD_S
                fashion_first = False
        return total


TITLES = {
    "relu": "Exercise 1: ReLU instead of LeakyReLU in D",
    "fashion-classes": "Exercise 2: Fashion-MNIST, class by class",
    "bn-first": "The paper: BatchNorm on D's first layer or not",
    "lr": "Learning rate: 0.005 (the chapter) against 2e-4 (the paper)",
}


def class_key(c: int) -> str:
    """'class-1-trouser' for Fashion-MNIST class 1."""
    name = FASHION_CLASSES[c].lower().replace("/", "-").replace(" ", "-")
    return f"class-{c}-{name}"


def experiment(
    name: str,
    *,
    steps: int | None = None,
    classes: tuple[int, ...] | None = None,
    base: dict | None = None,
    quality_n: int = compare.QUALITY_N,
) -> Experiment:
    """The named experiment; steps per arm, Fashion-MNIST classes and extra base overrides
    (tests use small ones) may be changed."""
    if name not in TITLES:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(TITLES)}.")
    steps = int(steps or STEPS)
    if steps < 1:
        raise ConfigError(f"steps={steps} must be at least 1.")
    common = {"train.steps": steps, "train.seed": 0, "data.source": "shapes"}
    common["train.sample_every"] = max(1, min(25, steps // 6))  # ~6+ timeline frames per arm
    common["train.sample_min_s"] = 0.0  # frames at the same steps in every arm, to compare
    common["train.log_every"] = max(1, min(5, steps // 10))
    extra = dict(base or {})
    if name == "relu":
        arms = (
            Arm("leaky-relu", "LeakyReLU (α 0.2)", {"model.d_activation": "leaky_relu"}),
            Arm("relu", "ReLU", {"model.d_activation": "relu"}),
        )
        question = (
            "The chapter's discriminator uses LeakyReLU with slope 0.2. What changes with a "
            "plain ReLU (its exercise 1)?"
        )
        look_for = (
            "A ReLU unit whose input is negative for every image outputs 0 and gets no "
            "gradient, so once dead it can stay dead; LeakyReLU still passes 0.2 of the "
            "gradient. Watch the dead-unit fraction per D block over the run, then compare "
            "D(G(z)) and the grids: G learns only through the units of D that are alive."
        )
        b = {**common, **extra}
        return Experiment(name, TITLES[name], question, look_for, arms, b, True, quality_n)
    if name == "fashion-classes":
        classes = tuple(DEFAULT_CLASSES if classes is None else classes)
        if not classes:
            raise ConfigError("pick at least one Fashion-MNIST class.")
        bad = [c for c in classes if not 0 <= int(c) <= 9]
        if bad:
            raise ConfigError(f"classes {bad} are not Fashion-MNIST classes; use 0 to 9.")
        arms = tuple(
            Arm(class_key(int(c)), FASHION_CLASSES[int(c)], {"data.classes": [int(c)]})
            for c in dict.fromkeys(classes)
        )
        question = (
            "Which Fashion-MNIST categories does a DCGAN learn well (the chapter's exercise "
            "2)? Each arm trains on one class only, with the same seed, steps and model."
        )
        look_for = (
            "The table ranks the classes by SWD to real images of the same class (lower is "
            "closer). Look at which silhouettes come out clean and which details are lost: "
            "thin straps, prints and textures need more than a minute of a small model."
        )
        b = {**common, "data.source": "fashion-mnist", **extra}
        return Experiment(name, TITLES[name], question, look_for, arms, b, False, quality_n)
    if name == "bn-first":
        arms = (
            Arm("bn-first", "BatchNorm on D's first block (d2l)", {"model.d_first_bn": True}),
            Arm("no-bn-first", "No BatchNorm there (paper)", {"model.d_first_bn": False}),
        )
        question = (
            "The chapter normalises every D block; Radford et al. leave BatchNorm out of D's "
            "input layer (and G's output layer), saying it caused sample oscillation and "
            "instability. Does it matter here?"
        )
        look_for = (
            "Compare the loss and D(x)/D(G(z)) curves for oscillation, and the final grids "
            "and SWD. At this short scale the difference can be small; that is an answer too."
        )
    else:  # lr
        arms = (
            Arm("lr-0.005", "lr 0.005 (d2l)", {"train.lr": 0.005}),
            Arm("lr-2e-4", "lr 2e-4 (paper)", {"train.lr": 0.0002}),
        )
        question = (
            "The chapter trains with lr 0.005; the paper found 0.001 too high and used 2e-4. "
            "Which works better for the same number of steps?"
        )
        look_for = (
            "A large lr moves fast and can overshoot: look for D(x) pinned near 1 and "
            "D(G(z)) near 0 (D has won), spiky losses and blotchy grids. A small lr is "
            "steadier but may not get far in 150 steps."
        )
    b = {**common, **extra}
    return Experiment(name, TITLES[name], question, look_for, arms, b, False, quality_n)


def measured_eps(root: str | Path) -> tuple[float, str] | None:
    """(median examples/sec, experiment folder name) of the newest experiment under root whose
    arms trained, so the next estimate uses this machine's own speed; None when none did."""
    import statistics

    for d in list_experiments(root):
        spec = runs.read_json(d / EXPERIMENT) or {}
        eps = [a["examples_per_sec"] for a in spec.get("arms", []) if a.get("examples_per_sec")]
        if eps:
            return float(statistics.median(eps)), d.name
    return None


def all_experiments() -> list[Experiment]:
    """Every experiment with its defaults, in the order the page lists them."""
    return [experiment(n) for n in TITLES]


# ---------------------------------------------------------------------- probes


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
        from .inside import dead_unit_fractions

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


# ---------------------------------------------------------------------- running


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
        "status": "starting",
        "current": None,
        "started_at": time.time(),
        "arms": [
            {"key": a.key, "label": a.label, "overrides": a.overrides, "status": "waiting"}
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
    from .runs.job import prepare

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


def _stop_requested(exp_dir: Path) -> bool:
    """Whether a reader asked the experiment to stop (control.jsonl)."""
    rows = runs.JsonlTail(exp_dir / runs.CONTROL).read()
    return any(r.get("cmd") == "stop" for r in rows)


def run_experiment(exp_dir: str | Path, on_arm=None) -> str:
    """Run every arm of a prepared experiment in this process, one after another; returns
    "finished" or "stopped". The caller holds the runs folder's lock (exp_dir's parent)."""
    from .runs.job import prepare, run_job

    exp_dir = Path(exp_dir)
    root = exp_dir.parent
    spec = runs.read_json(exp_dir / EXPERIMENT)
    if spec is None:
        raise ConfigError(
            f"{exp_dir} has no {EXPERIMENT}; start experiments with dcgan.experiments."
        )
    runs.write_pid(exp_dir, os.getpid())
    spec.update(status="running", pid=os.getpid())
    runs.write_json(exp_dir / EXPERIMENT, spec)
    final = "finished"
    for i, arm in enumerate(spec["arms"]):
        if _stop_requested(exp_dir):
            final = "stopped"
            break
        arm_dir = exp_dir / arm["key"]
        if not (arm_dir / runs.CONFIG).exists():
            arm_dir = prepare(_arm_config(spec, arm), exp_dir, name=arm["key"])
        runs.point_lock(root, arm_dir, pid=os.getpid())
        arm.update(status="running", dir=arm_dir.name, started_at=time.time())
        spec["current"] = i
        runs.write_json(exp_dir / EXPERIMENT, spec)
        probe = DeadUnitProbe(arm_dir) if spec.get("probe") else None
        end = run_job(arm_dir, on_step=probe)
        st = runs.read_json(arm_dir / runs.STATUS) or {}
        arm.update(
            status=str(end),
            seconds=time.time() - arm["started_at"],
            steps=st.get("step", 0),
            examples_per_sec=st.get("examples_per_sec"),
            error=st.get("error"),
        )
        if end != JobStatus.STOPPED:
            try:
                arm["quality"] = compare.quality(arm_dir, n=spec.get("quality_n", 256))
                if spec["name"] == "fashion-classes":  # each arm has its own real images
                    cfg = runs.read_json(arm_dir / runs.CONFIG) or {}
                    arm["baseline"] = compare.real_baseline(cfg, n=spec.get("quality_n", 256))
            except Exception as e:  # a broken snapshot costs this figure, not the experiment
                arm["quality_error"] = f"{type(e).__name__}: {e}"
        if probe is not None:
            arm["dead_units"] = {
                k: {"steps": s, "values": v} for k, (s, v) in read_probes(arm_dir).items()
            }
        runs.write_json(exp_dir / EXPERIMENT, spec)
        if on_arm is not None:
            on_arm(arm)
        if end == JobStatus.STOPPED:
            final = "stopped"
            break
    spec.update(status=final, current=None, ended_at=time.time())
    runs.write_json(exp_dir / EXPERIMENT, spec)
    return final


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
    exp = experiment(name, steps=steps, classes=classes, base=base, quality_n=quality_n)
    root = Path(root)
    runs.acquire_lock(root, root / f"exp-{name}")
    try:
        exp_dir = prepare_experiment(exp, root, paused=paused)
        spec = runs.read_json(exp_dir / EXPERIMENT)
        runs.point_lock(root, exp_dir / spec["arms"][0]["key"], pid=os.getpid())
        proc = spawn(exp_dir, env=env)
    except BaseException:
        runs.release_lock(root)
        raise
    runs.write_pid(exp_dir, proc.pid)
    runs.write_pid(exp_dir / spec["arms"][0]["key"], proc.pid)
    runs.hand_over_lock(root, proc.pid)
    return exp_dir


def spawn(exp_dir: Path, env: dict | None = None) -> subprocess.Popen:
    """`python -m dcgan.experiments EXP_DIR`, started and reaped like a job."""
    from .runs import launch

    return launch.spawn("dcgan.experiments", exp_dir, env=env)


def stop_experiment(exp_dir: str | Path) -> None:
    """No further arm starts, and the arm now training stops after its current step."""
    exp_dir = Path(exp_dir)
    runs.send_control(exp_dir, "stop")
    spec = runs.read_json(exp_dir / EXPERIMENT) or {}
    cur = spec.get("current")
    if cur is not None:
        runs.send_control(exp_dir / spec["arms"][cur]["key"], "stop")


def read_experiment(exp_dir: str | Path) -> dict | None:
    """experiment.json with a liveness check: a running experiment whose process is gone
    reads as "failed", with the end of its log."""
    exp_dir = Path(exp_dir)
    spec = runs.read_json(exp_dir / EXPERIMENT)
    if spec is None:
        return None
    if spec.get("status") in ("starting", "running"):
        info = runs.read_json(exp_dir / runs.PID)
        if info is None:
            alive = time.time() - float(spec.get("started_at") or 0) < STARTING_GRACE_S
        else:
            alive = runs.pid_alive(info.get("pid"), info.get("proc_start"))
        if not alive:
            spec = runs.read_json(exp_dir / EXPERIMENT) or spec  # it may have just ended
            if spec.get("status") in ("starting", "running"):
                tail = runs.log_tail(exp_dir)
                spec = dict(
                    spec,
                    status="failed",
                    error="the experiment's process ended "
                    "without finishing." + (f" The end of its log:\n{tail}" if tail else ""),
                )
    return spec


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


# ---------------------------------------------------------------------- command line


def _child(exp_dir: Path) -> int:
    """The experiment process started by start_experiment."""
    from .hardware import set_thread_policy

    faulthandler.enable()
    set_thread_policy()
    try:
        final = run_experiment(exp_dir)
    finally:
        runs.release_lock(exp_dir.parent)
    return 0 if final in ("finished", "stopped") else 1


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
    r.add_argument("name", choices=list(TITLES))
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
    base = {}
    for kv in a.set:
        key, sep, value = kv.partition("=")
        if not sep:
            print(f"--set {kv!r}: write KEY=VALUE.", file=sys.stderr)
            return 2
        base[key] = _parse_value(value)
    try:
        exp = experiment(a.name, steps=a.steps, classes=classes, base=base)
        exp.configs()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from .hardware import set_thread_policy

    threads = set_thread_policy()
    print(
        f"{exp.title}: {len(exp.arms)} arms, estimated {exp.estimate_s() / 60:.1f} min "
        f"({threads} thread(s))",
        flush=True,
    )
    root = Path(a.root)
    try:
        runs.acquire_lock(root, root / f"exp-{a.name}")
    except runs.JobBusyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        exp_dir = prepare_experiment(exp, root)
        spec = runs.read_json(exp_dir / EXPERIMENT)
        runs.point_lock(root, exp_dir / spec["arms"][0]["key"], pid=os.getpid())

        def said(arm):
            print(f"  {arm['label']}: {arm['status']} in {arm['seconds']:.0f} s", flush=True)

        run_experiment(exp_dir, on_arm=said)
    finally:
        runs.release_lock(root)
    print(exp_dir)
    print(summary(read_experiment(exp_dir)))
    return 0


def _parse_value(text: str):
    """'0.001' -> 0.001, '3' -> 3, 'true' -> True, else the text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


if __name__ == "__main__":
    sys.exit(main())

"""The one training loop, shared by a job process and the CLI: train, answering commands.

Commands arrive as lines of control.jsonl (dcgan.runs.folder.send_control):

    pause | resume | stop | save | step {n, part} | set {lr, beta1, delay}

Controls holds what they have set (paused, single steps owed, slow motion, stop) and applies
them one at a time; `drive` trains between them. Pause and stop answer within one step: the
inbox is a stat() per step, read only when a command arrives.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import checkpoint as ckpt
from .. import runs
from ..config import ConfigError
from ..history import METRICS
from ..trainer import Trainer
from .faults import inject
from .folder import JobStatus
from .writer import RunWriter, save_last

POLL_PAUSED_S = 0.05  # how often a paused job looks for a command: answers feel instant
PARTS = ("both", "D", "G")
MAX_DELAY_S = 5.0  # slow motion's longest pause between steps


class Controls:
    """What the commands so far have set, and how one more command changes it."""

    def __init__(self, tr: Trainer, w: RunWriter, paused: bool = False):
        self.tr, self.w = tr, w
        self.paused = paused
        self.budget = 0  # single steps requested while paused
        self.part = "both"
        self.delay = 0.0  # slow motion: seconds between steps
        self.stop = False

    def set_status(self, status: JobStatus) -> None:
        """Write the job's state with the trainer's position."""
        self.w.status(status=status, step=self.tr.step_num, epoch=self.tr.epoch)

    def apply(self, c: dict) -> None:
        """Carry out one command line of control.jsonl."""
        tr, w = self.tr, self.w
        cmd, args = c.get("cmd"), c.get("args") or {}
        if cmd == "pause" and not self.paused:
            self.paused = True
            tr.flush()
            self.set_status(JobStatus.PAUSED)
            w.event("pause", tr.step_num)
        elif cmd == "resume" and self.paused:
            self.paused, self.budget = False, 0
            self.set_status(JobStatus.RUNNING)
            w.event("resume", tr.step_num)
        elif cmd == "stop":
            self.stop = True
        elif cmd == "save":
            path = ckpt.save(tr.state_dict(), w.dir / f"step-{tr.step_num}.pt")
            w.generator(tr, force=True)
            w.event("saved", tr.step_num, path=str(path), id=c.get("id"))
        elif cmd == "step":
            self.budget += max(1, int(args.get("n", 1)))
            self.part = args.get("part", "both") if args.get("part") in PARTS else "both"
            if not self.paused:
                self.paused = True
                self.set_status(JobStatus.PAUSED)
        elif cmd == "set":
            changed = apply_hparams(tr, args)
            if "delay" in args:
                self.delay = min(MAX_DELAY_S, max(0.0, float(args["delay"])))
                changed["delay"] = self.delay
            if changed:
                w.event("set", tr.step_num, **changed)


def drive(
    tr: Trainer,
    w: RunWriter,
    inbox: runs.ControlInbox | None,
    *,
    fault: dict | None = None,
    on_step=None,
    paused: bool = False,
) -> JobStatus:
    """Train to the end, answering commands between steps; returns FINISHED or STOPPED.

    A paused job sleeps POLL_PAUSED_S between looks at its inbox.
    """
    t = tr.cfg.train
    first_step = tr.step_num
    ctl = Controls(tr, w, paused)
    ctl.set_status(JobStatus.PAUSED if paused else JobStatus.RUNNING)
    queue: list[dict] = []
    while tr.step_num < tr.total_steps:
        if inbox is not None:
            queue.extend(inbox.poll())
        # in order: commands after a "step" wait until its steps are done
        while queue and ctl.budget == 0 and not ctl.stop:
            ctl.apply(queue.pop(0))
        if ctl.stop:
            break
        if ctl.paused and ctl.budget == 0:
            time.sleep(POLL_PAUSED_S)
            continue
        if ctl.paused:
            ctl.budget -= 1
            tr.step(part=ctl.part)
            tr.flush()
            w.generator(tr, force=True)
            if tr.step_num % t.sample_every:
                tr.record_sample()  # a single step always shows its effect
            ctl.set_status(JobStatus.PAUSED)
        else:
            tr.step()
        inject(tr, fault)
        if on_step is not None:
            on_step(tr)
        if tr.step_num % t.checkpoint_every == 0:
            save_last(tr, w)
        if ctl.delay:
            time.sleep(ctl.delay)
    tr.flush()
    if tr.step_num > first_step:  # a job stopped before its first step overwrites nothing
        save_last(tr, w)
    w.generator(tr, force=True, final=True)
    return JobStatus.STOPPED if ctl.stop else JobStatus.FINISHED


def apply_hparams(tr: Trainer, args: dict) -> dict:
    """Change lr and/or β1 of both optimisers from the next step on; returns what changed."""
    changed = {}
    if "lr" in args:
        lr = float(args["lr"])
        if not 0 < lr <= 1:
            raise ConfigError(f"lr={lr} must be greater than 0 and at most 1.")
        changed["lr"] = lr
    if "beta1" in args:
        b1 = float(args["beta1"])
        if not 0 <= b1 < 1:
            raise ConfigError(f"beta1={b1} must lie in [0, 1).")
        changed["beta1"] = b1
    for opt in (tr.opt_G, tr.opt_D):
        for g in opt.param_groups:
            if "lr" in changed:
                g["lr"] = changed["lr"]
            if "beta1" in changed:
                g["betas"] = (changed["beta1"], g["betas"][1])
    return changed


def attach(tr: Trainer, w: RunWriter) -> None:
    """Publish the trainer's events into the run folder, starting with what it will do."""
    w.status(
        total_steps=tr.total_steps,
        device=str(tr.device),
        precision=tr.precision,
        load_progress=1.0,
        step=tr.step_num,
    )
    tr.add_callback("on_metrics", lambda trainer, rows: w.metrics(trainer, rows))

    def on_sample(trainer, grid):
        w.grid(trainer.step_num, grid)
        if getattr(trainer, "G_ema", None) is not None:  # the raw G beside it: worth teaching
            w.raw_grid(trainer)
        w.generator(trainer)
        # the first step is forced out: "Start to first step" is what a class waits for
        w.status(force=trainer.step_num == 1, step=trainer.step_num, epoch=trainer.epoch)

    tr.add_callback("on_sample", on_sample)


def attach_tensorboard(tr: Trainer, run_dir: Path):
    """Also write the run's scalars and grids as TensorBoard events in RUN_DIR/tb, live."""
    from ..tensorboard import TB_DIR, TBWriter

    tb = TBWriter(Path(run_dir) / TB_DIR)

    def on_metrics(trainer, rows):
        steps = trainer.history.step[-len(rows) :]
        for s, r in zip(steps, rows.tolist(), strict=True):
            tb.add_scalars(s, dict(zip(METRICS, r, strict=True)))

    tr.add_callback("on_metrics", on_metrics)
    tr.add_callback("on_sample", lambda trainer, grid: tb.add_grid(trainer.step_num, grid))
    return tb

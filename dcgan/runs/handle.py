"""Holding a job from a UI: start one, send it commands, read its status, wait for it."""

from __future__ import annotations

import inspect
import math
import os
import signal
import time
from pathlib import Path

from .. import runs
from ..config import Config, ConfigError
from . import launch
from .job import prepare, run_name
from .loop import PARTS
from .slot import JobSlot


def start_job(
    cfg: Config,
    root: str | Path,
    *,
    env: dict | None = None,
    **options,
) -> RunHandle:
    """Start a training process for cfg in a new folder under root; JobBusyError if one is live.

    options are prepare()'s: name, resume, fault (tests), paused."""
    cfg = cfg.validate()
    root = Path(root)
    with JobSlot(root, root / (options.get("name") or run_name(cfg))) as slot:
        run_dir = prepare(cfg, root, **options)
        slot.point(run_dir)
        slot.hand_over(launch.launch(run_dir, env=env).pid)
    return RunHandle(run_dir)


def _source(pred) -> str:
    """The source line of a predicate, to say what a wait was for."""
    try:
        return inspect.getsource(pred).strip()
    except (OSError, TypeError):
        return repr(pred)


class RunHandle:
    """What a UI holds of a job: its folder, the commands it can send and its status."""

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)

    def __repr__(self) -> str:
        return f"RunHandle({str(self.dir)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RunHandle) and other.dir == self.dir

    def __hash__(self) -> int:
        return hash(self.dir)

    def status(self) -> dict:
        """status.json with the liveness check (a dead process reads as failed)."""
        launch.reap()
        return runs.RunReader(self.dir).status()

    @property
    def alive(self) -> bool:
        """Whether the job is loading, running or paused (its process alive)."""
        return self.status().get("status") in runs.LIVE

    @property
    def pid(self) -> int | None:
        """The training process's pid, as it recorded it."""
        return (runs.read_json(self.dir / runs.PID) or {}).get("pid")

    def config(self) -> Config:
        """The run's config."""
        return Config.from_dict(runs.read_json(self.dir / runs.CONFIG) or {})

    def pause(self) -> str:
        """Ask the job to pause after its current step; returns the command's id."""
        return runs.send_control(self.dir, "pause")

    def resume(self) -> str:
        """Ask a paused job to train on."""
        return runs.send_control(self.dir, "resume")

    def stop(self) -> str:
        """Ask the job to end after its current step, saving its last checkpoint."""
        return runs.send_control(self.dir, "stop")

    def save(self) -> str:
        """Ask for a full, resumable checkpoint now; answered by a 'saved' event."""
        return runs.send_control(self.dir, "save")

    def step(self, n: int = 1, part: str = "both") -> str:
        """Pause (if running) and do n single steps: 'both', or only D's or G's update."""
        if part not in PARTS:
            raise ConfigError(f"part={part!r} is unknown; use one of {PARTS}.")
        return runs.send_control(self.dir, "step", n=int(n), part=part)

    def set(self, **hparams) -> str:
        """Change lr, beta1 or the slow-motion delay from the next step on."""
        bad = set(hparams) - {"lr", "beta1", "delay"}
        if bad:
            raise ConfigError(f"cannot change {sorted(bad)} during a run; only lr, beta1, delay.")
        return runs.send_control(self.dir, "set", **hparams)

    def kill(self) -> None:
        """End the process now (SIGKILL): for a job that does not answer stop."""
        pid = self.pid
        if pid and runs.pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.wait(10)

    def stop_or_kill(self, timeout: float) -> None:
        """Ask the job to stop; kill it if it has not ended within timeout seconds."""
        self.stop()
        if not self.wait(timeout):
            self.kill()

    def wait(self, timeout: float | None = None, poll: float = 0.05) -> bool:
        """Block until the job has ended (stopped, finished or failed); True when it has."""
        end = math.inf if timeout is None else time.monotonic() + timeout
        while self.status().get("status") not in runs.ENDED:
            if time.monotonic() >= end:
                return False
            time.sleep(poll)
        return True

    def wait_for(
        self, pred, timeout: float = 60.0, what: str | None = None, poll: float = 0.02
    ) -> dict:
        """Block until pred(status) holds or the job has ended; returns that status.

        TimeoutError after timeout seconds, naming what it waited for (what, else pred's
        source) and the job's last status."""
        end = time.monotonic() + timeout
        while True:
            st = self.status()
            if pred(st) or st.get("status") in runs.ENDED:
                return st
            if time.monotonic() > end:
                last = {k: st.get(k) for k in ("status", "step", "total_steps", "error")}
                raise TimeoutError(
                    f"{self.dir.name}: waited {timeout:g} s for {what or _source(pred)}; "
                    f"the job's last status: {last}"
                )
            time.sleep(poll)

    def events(self) -> list[dict]:
        """Every event so far."""
        r = runs.RunReader(self.dir)
        r.update()
        return r.events


def current_run(root: str | Path) -> RunHandle | None:
    """The live job of a runs folder (the lock's), else its newest run, else None."""
    launch.reap()
    held = runs.read_lock(Path(root))
    if held is not None:
        return RunHandle(held["run"])
    found = runs.list_runs(Path(root))
    return RunHandle(found[0]) if found else None


def stop_all(root: str | Path, timeout: float = 20.0) -> None:
    """Stop the live job of root, killing it if it does not answer within timeout."""
    h = current_run(root)
    if h is not None and h.alive:
        h.stop_or_kill(timeout)

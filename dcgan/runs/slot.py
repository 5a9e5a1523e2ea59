"""One job at a time per runs folder: the lock file, and JobSlot, the one way to hold it.

    with JobSlot(root, root / name) as slot:   # acquire, or JobBusyError naming the holder
        run_dir = prepare(...)
        slot.point(run_dir)                     # readers follow the lock to the live run
        proc = spawn(...)
        slot.hand_over(proc.pid)                # the child now holds it and frees it at its end

Leaving the block without a hand-over (an error, or a job run in this process) releases the
lock. A process handed a slot takes it with JobSlot.inherit(root).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .folder import LOCK, STATUS, read_json, write_json
from .process import pid_alive, proc_start_time


class JobBusyError(RuntimeError):
    """A second Start while a job holds the runs folder."""


def read_lock(root: Path) -> dict | None:
    """The live lock of a runs folder, or None; a lock whose process is gone is removed."""
    path = Path(root) / LOCK
    info = read_json(path)
    if info is None:
        return None
    if pid_alive(info.get("pid"), info.get("proc_start")):
        return info
    try:  # stale: its holder died without cleaning up (SIGKILL, power loss)
        path.unlink()
    except OSError:
        pass
    return None


def acquire_lock(root: Path, run_dir: Path, pid: int | None = None) -> dict:
    """Take the runs folder's lock for run_dir, or raise JobBusyError naming the holder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    pid = pid or os.getpid()
    info = {"pid": pid, "proc_start": proc_start_time(pid), "run": str(run_dir), "t": time.time()}
    for _ in range(3):
        try:
            fd = os.open(root / LOCK, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            held = read_lock(root)  # removes a stale lock, then we try again
            if held is not None:
                st = read_json(Path(held["run"]) / STATUS) or {}
                raise JobBusyError(
                    f"a training job is already {st.get('status', 'running')} in "
                    f"{Path(held['run']).name} (pid {held['pid']}, step {st.get('step', 0)}); "
                    "stop it before starting another."
                ) from None
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        return info
    raise JobBusyError(f"could not take the lock in {root}; try again.")


def point_lock(root: Path, run_dir: Path, pid: int | None = None) -> None:
    """Name the run the lock's holder is training now (readers follow it); with pid, only if
    that process holds it."""
    info = read_json(Path(root) / LOCK)
    if info is None or (pid is not None and info.get("pid") != pid):
        return
    write_json(Path(root) / LOCK, dict(info, run=str(run_dir)))


def hand_over_lock(root: Path, pid: int) -> None:
    """Point the lock at the process that now holds it (the server spawned it)."""
    info = read_json(Path(root) / LOCK) or {}
    info.update(pid=pid, proc_start=proc_start_time(pid))
    write_json(Path(root) / LOCK, info)


def release_lock(root: Path, pid: int | None = None) -> None:
    """Remove the lock if pid (default: this process) holds it."""
    path = Path(root) / LOCK
    info = read_json(path)
    if info is not None and info.get("pid") == (pid or os.getpid()):
        try:
            path.unlink()
        except OSError:
            pass


class JobSlot:
    """The runs folder's one job slot, held for a `with` block (see the module docstring)."""

    def __init__(self, root: str | Path, run_dir: str | Path | None = None):
        self.root = Path(root)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._acquire = run_dir is not None
        self._held = not self._acquire  # an inherited slot is already held
        self._release_on_exit = True

    @classmethod
    def inherit(cls, root: str | Path) -> JobSlot:
        """The slot a parent acquired and handed to this process: released at the block's end."""
        return cls(root)

    def __enter__(self) -> JobSlot:
        if self._acquire:
            acquire_lock(self.root, self.run_dir)
            self._held = True
        return self

    def point(self, run_dir: str | Path) -> None:
        """Name the run training now: readers (the Train page) follow it."""
        point_lock(self.root, Path(run_dir), pid=os.getpid())

    def hand_over(self, pid: int | None = None) -> None:
        """Pass the slot on: to process pid, which releases it at its end; or, without pid, to
        a thread of this process that calls release() when its job ends."""
        if pid is not None:
            hand_over_lock(self.root, pid)
            self._held = False
        self._release_on_exit = False

    def release(self) -> None:
        """Free the slot if this process holds it."""
        if self._held:
            release_lock(self.root)
            self._held = False

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._release_on_exit or exc_type is not None:
            self.release()

"""The processes behind run folders: is one alive, and why did one die.

One liveness rule for every record a process keeps up to date (a run's status.json, an
experiment's experiment.json): alive while the pid in the folder's pid.json runs, and alive for
STARTING_GRACE_S before that file exists (the folder is made before its process is spawned).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from pathlib import Path

from .folder import LAST, PID, log_tail, read_json, write_json

STARTING_GRACE_S = 30.0  # a folder with no pid yet is "starting", not dead, for this long


def proc_start_time(pid: int) -> int | None:
    """The kernel's start time of pid (clock ticks since boot), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int | None, start: int | None = None) -> bool:
    """True while pid runs (not a zombie) and, when start is given, is the same process."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return False  # exited, waiting to be reaped
        if start is not None and int(fields[19]) != start:
            return False  # the pid was reused by another process
    except (OSError, ValueError, IndexError):
        pass  # no /proc (macOS): os.kill's answer stands
    return True


def write_pid(run_dir: Path, pid: int) -> None:
    """Record the folder's process, for every reader's liveness check."""
    write_json(Path(run_dir) / PID, {"pid": pid, "proc_start": proc_start_time(pid)})


def process_alive(folder: Path, record: dict) -> bool:
    """Whether the folder's process still runs; one still being launched counts as alive.

    record is what the process keeps (status.json, experiment.json): its started_at bounds the
    launch, and its pid is filled in from pid.json when it has none."""
    info = read_json(Path(folder) / PID)
    if info is None:  # between the folder's creation and the spawn: a moment, not a death
        return time.time() - float(record.get("started_at") or 0) < STARTING_GRACE_S
    record.setdefault("pid", info.get("pid"))
    return pid_alive(info.get("pid"), info.get("proc_start"))


def checked_record(
    folder: Path, name: str, live: Collection[str], failed: str, why: Callable[[dict], str]
) -> dict | None:
    """The JSON record `name` of folder (None when missing); a live one whose process is gone
    reads as `failed`, with why(record) as its error."""
    rec = read_json(Path(folder) / name)
    if rec is None or rec.get("status") not in live or process_alive(folder, rec):
        return rec
    rec = read_json(Path(folder) / name) or rec  # re-read: it may have just written its end
    if rec.get("status") in live:
        rec = dict(rec, status=failed, error=why(rec))
    return rec


SIGNALS = {
    9: "it was killed (SIGKILL; often the system's out-of-memory killer)",
    11: "it crashed in native code (SIGSEGV)",
    6: "it aborted (SIGABRT)",
    15: "it was terminated (SIGTERM)",
    7: "it crashed on a bus error (SIGBUS)",
}


def died_reason(run_dir: Path, st: dict, returncode: int | None = None) -> str:
    """Why a process ended without writing its end: the signal if known and its log's tail."""
    pid = st.get("pid")
    if returncode is not None and returncode < 0:
        why = SIGNALS.get(-returncode, f"it ended on signal {-returncode}")
    elif returncode is not None:
        why = f"it exited with code {returncode}"
    else:
        why = "it was killed or crashed"
    step = st.get("step", 0)
    msg = f"the training process (pid {pid}) ended at step {step} without finishing: {why}."
    tail = log_tail(run_dir)
    if tail:
        msg += f" The end of its log:\n{tail}"
    if (Path(run_dir) / LAST).exists():
        msg += f"\nThe last good checkpoint is kept at {Path(run_dir) / LAST}."
    return msg

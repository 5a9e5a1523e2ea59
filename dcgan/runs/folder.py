"""The run folder's format: its files, the job states, and the small helpers that write them.

Every file a reader opens whole is replaced with os.replace, so a reader sees the old or the
new version, never half of one. Appended files are read up to their last complete line.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from enum import StrEnum
from pathlib import Path

CONFIG = "config.json"
SPEC = "job.json"
STATUS = "status.json"
METRICS = "metrics.jsonl"
EVENTS = "events.jsonl"
CONTROL = "control.jsonl"
GRID = "grid.png"
GRID_RAW = "grid_raw.png"  # the raw G's grid beside the average's, when the run keeps an EMA
SAMPLES = "samples"
GENERATOR = "generator.safetensors"
LAST = "last.pt"
LOG = "log.txt"
PID = "pid.json"  # the training process: its own file, so no writer races over status.json
LOCK = ".job.lock"


class JobStatus(StrEnum):
    """Where a job is in its life; LIVE ones hold the runs folder's lock."""

    IDLE = "idle"
    LOADING = "loading"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"


LIVE = frozenset({JobStatus.LOADING, JobStatus.RUNNING, JobStatus.PAUSED})
ENDED = frozenset({JobStatus.STOPPED, JobStatus.FINISHED, JobStatus.FAILED})

# ---------------------------------------------------------------------- small file helpers


def write_atomic(path: Path, data: bytes) -> None:
    """Replace path with data in one rename, so a reader never sees a partial file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    """Atomically write obj as JSON."""
    write_atomic(path, json.dumps(obj, default=str).encode())


def read_json(path: Path) -> dict | None:
    """The JSON object in path, or None when it is missing or (briefly) unreadable."""
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


def append_jsonl(path: Path, rows: list[dict]) -> None:
    """Append rows as JSON lines in one write (O_APPEND keeps concurrent appenders whole)."""
    if rows:
        data = "".join(json.dumps(r, default=str) + "\n" for r in rows).encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


class JsonlTail:
    """Reads the rows appended to a JSON-lines file since the last call: O(new rows)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0

    def read(self) -> list[dict]:
        """New complete rows; a half-written last line waits for the next call."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size <= self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        rows = []
        for line in chunk[:end].splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a damaged line costs that row, never the reader
        return rows


# ---------------------------------------------------------------------- controls


def send_control(run_dir: Path, cmd: str, **args) -> str:
    """Append one command for the run's process; returns its id (answered in events.jsonl)."""
    cid = uuid.uuid4().hex[:12]
    append_jsonl(Path(run_dir) / CONTROL, [{"id": cid, "cmd": cmd, "args": args, "t": time.time()}])
    return cid


class ControlInbox:
    """The process side of control.jsonl: a stat per step, a read only when something came."""

    def __init__(self, run_dir: Path):
        # from the file's start: a command sent before this process read it (a pause asked at
        # Start, a stop during the spawn) is for this run too; a CLI run's fresh RunWriter
        # has already removed an earlier run's commands
        self._tail = JsonlTail(Path(run_dir) / CONTROL)

    def poll(self) -> list[dict]:
        """Commands appended since the last poll."""
        return self._tail.read()


# ---------------------------------------------------------------------- listing


def timeline(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the timeline PNGs in a run folder, oldest first."""
    out = []
    try:
        names = os.listdir(Path(run_dir) / SAMPLES)
    except OSError:
        return []
    for n in names:
        if n.startswith("step-") and n.endswith(".png"):
            try:
                out.append((int(n[5:-4]), Path(run_dir) / SAMPLES / n))
            except ValueError:
                continue
    return sorted(out)


def log_tail(run_dir: Path, lines: int = 8) -> str:
    """The last lines of the run's log, for an error message."""
    try:
        with open(Path(run_dir) / LOG, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4000))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    out = text.strip().splitlines()
    fatal = [i for i, line in enumerate(out) if line.startswith("Fatal Python error")]
    if fatal:  # a native crash: faulthandler's report, from its first line
        return "\n".join(out[fatal[-1] : fatal[-1] + 2 * lines])
    return "\n".join(out[-lines:])


def list_runs(root: Path, nested: bool = False) -> list[Path]:
    """Run folders (those with a config.json) under root, newest first.

    nested=True also lists the runs one level down inside folders that are not runs
    themselves: an experiment's arms (ROOT/<time>-exp-<name>/<arm>/, dcgan.experiments).
    """
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for p in root.iterdir():
        if not p.is_dir() or p.name.startswith("."):
            continue
        if (p / CONFIG).exists():
            runs.append(p)
        elif nested:
            runs.extend(q for q in p.iterdir() if q.is_dir() and (q / CONFIG).exists())
    return sorted(runs, key=lambda p: (p / CONFIG).stat().st_mtime, reverse=True)

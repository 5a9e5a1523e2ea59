"""The run folder: the one interface between a training process and everything that watches it.

Longer than the house's 400 lines on purpose: the folder's layout, the lock and the reader are
one file format, kept in one place.

A training process (a job started by a UI, or `python -m dcgan.train --out DIR`) writes; any
number of readers (the Train page in every browser session, the Latent page, a second server,
the CLI, a comparison view) read, the way TensorBoard readers tail an event file. Nothing else
crosses the boundary, so a reader never touches a live Trainer and never shares its GIL.

    DIR/config.json            the run's Config (written once, before training)
    DIR/job.json               what the process was asked: resume path, test faults
    DIR/status.json            JobStatus, pid, step, device, error ... (replaced atomically)
    DIR/metrics.jsonl          one JSON row per step, appended every `log_every` steps
    DIR/events.jsonl           marks for the charts: pauses, lr/β1 changes, saves
    DIR/control.jsonl          commands from readers, appended; the process polls it each step
    DIR/grid.png               the latest fixed-noise grid (replaced atomically)
    DIR/grid_raw.png           the same noise through the raw G, when the grid is the EMA's
    DIR/samples/step-*.png     the timeline, thinned to at most MAX_TIMELINE frames
    DIR/generator.safetensors  a periodic snapshot of the sampling generator (EMA when on)
    DIR/last.pt                the last good, resumable checkpoint
    DIR/log.txt                the process's stdout and stderr: the reason a crash leaves
    DIR/pid.json               the training process's pid and start time (liveness checks)
    ROOT/.job.lock             "one job at a time" for a runs folder: the pid holding it

Every file a reader opens whole is replaced with os.replace, so a reader sees the old or the
new version, never half of one. Appended files are read up to their last complete line.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
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
MAX_TIMELINE = 200  # frames kept on disk; older ones are thinned so a long run stays small
STARTING_GRACE_S = 30.0  # a run with no pid yet is "starting", not dead, for this long
MAX_POINTS = 1000  # points per chart series: enough for a projector, cheap for every viewer


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


class JobBusyError(RuntimeError):
    """A second Start while a job holds the runs folder."""


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


# ---------------------------------------------------------------------- processes


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


# ---------------------------------------------------------------------- the lock


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


def write_pid(run_dir: Path, pid: int) -> None:
    """Record the run's training process, for every reader's liveness check."""
    write_json(Path(run_dir) / PID, {"pid": pid, "proc_start": proc_start_time(pid)})


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


# ---------------------------------------------------------------------- controls


def send_control(run_dir: Path, cmd: str, **args) -> str:
    """Append one command for the run's process; returns its id (answered in events.jsonl)."""
    cid = uuid.uuid4().hex[:12]
    append_jsonl(Path(run_dir) / CONTROL, [{"id": cid, "cmd": cmd, "args": args, "t": time.time()}])
    return cid


class ControlInbox:
    """The process side of control.jsonl: a stat per step, a read only when something came."""

    def __init__(self, run_dir: Path):
        self._tail = JsonlTail(Path(run_dir) / CONTROL)
        try:  # commands written before this process started are stale, except a pre-start pause
            self._tail.offset = 0
        except OSError:
            pass

    def poll(self) -> list[dict]:
        """Commands appended since the last poll."""
        return self._tail.read()


# ---------------------------------------------------------------------- reading a run


@dataclass
class Series:
    """A metric series kept at most ~MAX_POINTS long by averaging buckets of 2^k steps.

    Appending costs O(1) amortised, so a reader that tails a long run keeps a bounded copy.
    """

    step: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    bucket: int = 1
    _acc_s: float = 0.0
    _acc_v: float = 0.0
    _acc_n: int = 0

    def add(self, step: float, value: float) -> None:
        """Add one raw point."""
        self._acc_s += step
        self._acc_v += value
        self._acc_n += 1
        if self._acc_n == self.bucket:
            self.step.append(self._acc_s / self._acc_n)
            self.value.append(self._acc_v / self._acc_n)
            self._acc_s = self._acc_v = 0.0
            self._acc_n = 0
            if len(self.step) >= 2 * MAX_POINTS:
                self._halve()

    def _halve(self) -> None:
        """Merge neighbouring points: the bucket doubles, the series halves."""
        self.step = [(a + b) / 2 for a, b in zip(self.step[::2], self.step[1::2], strict=False)]
        self.value = [(a + b) / 2 for a, b in zip(self.value[::2], self.value[1::2], strict=False)]
        self.bucket *= 2

    def points(self) -> tuple[list[float], list[float]]:
        """(steps, values), with the partial newest bucket as the last point."""
        if self._acc_n:
            return (
                self.step + [self._acc_s / self._acc_n],
                self.value + [self._acc_v / self._acc_n],
            )
        return list(self.step), list(self.value)


class RunReader:
    """A reader's view of one run folder: incremental metrics, status with a liveness check."""

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        self.series: dict[str, Series] = {}
        self.rows_read = 0
        self.last_row: dict = {}
        self._metrics = JsonlTail(self.dir / METRICS)
        self._events = JsonlTail(self.dir / EVENTS)
        self.events: list[dict] = []
        self._config: tuple = (None, None)  # ((mtime_ns, size), config dict)

    @property
    def name(self) -> str:
        return self.dir.name

    def config(self) -> dict | None:
        """The run's config dict, re-read only when the file changes (a viewer's every rerun
        asks for it; a CLI run that reuses the folder rewrites it)."""
        try:
            st = (self.dir / CONFIG).stat()
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        if self._config[0] != key:
            self._config = (key, read_json(self.dir / CONFIG))
        return self._config[1]

    def status(self) -> dict:
        """status.json, with a live status turned into FAILED when its process is gone."""
        st = read_json(self.dir / STATUS) or {"status": JobStatus.IDLE}
        if st.get("status") in LIVE and not self.process_alive(st):
            st = read_json(self.dir / STATUS) or st  # re-read: it may have just written its end
            if st.get("status") in LIVE:
                st = dict(st, status=JobStatus.FAILED, error=died_reason(self.dir, st))
        return st

    def process_alive(self, st: dict) -> bool:
        """Whether the run's process still runs; a run still being launched counts as alive."""
        info = read_json(self.dir / PID)
        if info is None:  # between the folder's creation and the spawn: a moment, not a death
            return time.time() - float(st.get("started_at") or 0) < STARTING_GRACE_S
        st.setdefault("pid", info.get("pid"))
        return pid_alive(info.get("pid"), info.get("proc_start"))

    def update(self) -> int:
        """Read what was appended since the last call; returns the number of new rows."""
        rows = self._metrics.read()
        for r in rows:
            s = r.get("step", 0)
            for k, v in r.items():
                if k != "step" and isinstance(v, int | float):
                    self.series.setdefault(k, Series()).add(s, float(v))
        if rows:
            self.rows_read += len(rows)
            self.last_row = rows[-1]
        self.events.extend(self._events.read())
        return len(rows)

    def points(self, key: str) -> tuple[list[float], list[float]]:
        """(steps, values) of one metric, at most ~MAX_POINTS long."""
        s = self.series.get(key)
        return s.points() if s else ([], [])

    def latest_grid(self) -> tuple[int, bytes] | None:
        """(step, PNG bytes) of the newest fixed-noise grid."""
        frames = self.timeline()
        if not frames:
            return None
        step, path = frames[-1]
        try:
            return step, path.read_bytes()
        except OSError:
            return None

    def timeline(self) -> list[tuple[int, Path]]:
        """(step, PNG path) of every kept timeline frame, oldest first."""
        return timeline(self.dir)


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

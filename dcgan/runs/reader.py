"""Reading a run folder: incremental metrics, the timeline and the status with its liveness."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .folder import CONFIG, EVENTS, LIVE, METRICS, STATUS, JobStatus, JsonlTail, read_json, timeline
from .process import checked_record, died_reason

SERIES_POINTS = 1000  # points a reader keeps per metric: enough for a projector, cheap to tail


@dataclass
class Series:
    """A metric series kept at most ~SERIES_POINTS long by averaging buckets of 2^k steps.

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
            if len(self.step) >= 2 * SERIES_POINTS:
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
        """The run folder's name."""
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
        st = checked_record(
            self.dir, STATUS, LIVE, JobStatus.FAILED, lambda st: died_reason(self.dir, st)
        )
        return st or {"status": JobStatus.IDLE}

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
        """(steps, values) of one metric, at most ~SERIES_POINTS long."""
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

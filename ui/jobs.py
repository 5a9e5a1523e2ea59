"""The server's view of training: the runs folder, the live job's handle, and one shared reader
per run so that a class of viewers costs about what one viewer costs.

Every session reads the same SharedRun (a cache_resource): it tails the run folder at most
once per REFRESH_S whoever asks, and builds each chart once per new data for all sessions.
The sample grid travels as the PNG bytes the job wrote, so it is never re-encoded here.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from dcgan import health, i18n, plots, pretrained, runs
from dcgan.config import Config, preset
from dcgan.i18n import N_, _
from dcgan.images import png_array
from dcgan.runs import JobStatus, launch
from dcgan.runs.handle import RunHandle, current_run, start_job
from ui import state

DEFAULT_PRESET = "classroom-cpu"  # works offline on a laptop CPU within a minute
REFRESH_S = 0.25  # a shared reader looks at the folder at most this often, for all sessions
CHARTS_EVERY_S = 3.0  # charts are redrawn and rebuilt at most this often (~0.1 s a build)
# a job's status as a page shows it: status.json keeps the enum's English value, so a run
# written in one language reads in any other
STATUS_LABELS = {
    JobStatus.IDLE: N_("idle"),
    JobStatus.LOADING: N_("loading"),
    JobStatus.RUNNING: N_("running"),
    JobStatus.PAUSED: N_("paused"),
    JobStatus.STOPPED: N_("stopped"),
    JobStatus.FINISHED: N_("finished"),
    JobStatus.FAILED: N_("failed"),
}


def status_label(value) -> str:
    """A JobStatus (or its value, as status.json holds it) in the session's language; an
    unknown value as it is."""
    try:
        return _(STATUS_LABELS[JobStatus(value)])
    except ValueError:
        return str(value)


def runs_dir() -> Path:
    """Where runs go: $DCGAN_RUNS_DIR, else checkpoints/runs (gitignored)."""
    return Path(os.environ.get("DCGAN_RUNS_DIR") or pretrained.CHECKPOINT_DIR / "runs")


_current: tuple[float, str, RunHandle | None] = (0.0, "", None)


def current_job() -> RunHandle | None:
    """The live job of the runs folder (whoever started it: this server, another, the CLI),
    else the newest run. Looked up at most every REFRESH_S for all sessions together."""
    global _current
    t, root, found = _current
    now = time.monotonic()
    here = str(runs_dir())
    if now - t >= REFRESH_S or root != here:
        found = current_run(here)
        _current = (now, here, found)
    return found


def start(cfg: Config, resume: str | Path | None = None) -> RunHandle:
    """Start a job process in a new run folder; raises JobBusyError while one is live."""
    global _current
    h = start_job(cfg, runs_dir(), resume=resume)
    _current = (time.monotonic(), str(runs_dir()), h)  # every page sees the new job at once
    return h


def warm() -> None:
    """Keep a spare job process ready while no job trains, so Start's first step comes fast
    (dcgan.runs.launch.warm); never while one trains, whose CPU the spare's imports would take."""
    job = current_job()
    if job is None or not job.alive:
        launch.warm()


class SharedRun:
    """One run folder's reader, shared by every session and refreshed at most every REFRESH_S."""

    def __init__(self, run_dir: str):
        self._reader = runs.RunReader(run_dir)
        self.lock = threading.Lock()
        self.checked = 0.0
        self.version = 0  # grows when rows or a new grid arrive: the figures' cache key
        self.state: dict = {}
        self.grid: tuple[int, bytes] | None = None
        self.grid_raw: bytes | None = None  # the raw G's grid beside the EMA's
        self._grid_mtime = 0
        self._figs: dict[float, tuple[int, float, tuple]] = {}  # smoothing -> (version, t, figs)
        self._hints: tuple | None = None  # ((version, tile), hints)
        self._diversity: dict[int, float] = {}

    def refresh(self) -> dict:
        """Status, reading new rows and the newest grid if REFRESH_S has passed; cheap otherwise."""
        with self.lock:
            now = time.monotonic()
            if now - self.checked >= REFRESH_S:
                self.checked = now
                self.state = self._reader.status()
                if self._reader.update():
                    self.version += 1
                try:
                    mtime = (self._reader.dir / runs.GRID).stat().st_mtime_ns
                except OSError:
                    mtime = 0
                if mtime != self._grid_mtime:
                    got = self._reader.latest_grid()
                    if got is not None:
                        self.grid, self._grid_mtime = got, mtime
                        self.version += 1
                        try:  # the raw G's grid, when the run keeps an EMA: written just after
                            self.grid_raw = (self._reader.dir / runs.GRID_RAW).read_bytes()
                        except OSError:
                            self.grid_raw = None
            return self.state

    def config(self) -> dict:
        """The run's config as a dict; {} until the job has written it."""
        with self.lock:
            return self._reader.config() or {}

    @property
    def has_metrics(self) -> bool:
        """True once the job has written its first row of metrics (the charts have data)."""
        return self._reader.rows_read > 0

    def series(self, key: str) -> tuple[list[float], list[float]]:
        """(steps, values) of one metric, at most ~1,000 points."""
        with self.lock:
            return self._reader.points(key)

    def figures(self, smoothing: float, device: str) -> tuple:
        """The four live charts, built once per data version (at most every CHARTS_EVERY_S)
        and smoothing and language, for every session that reads it in that language."""
        sm = (round(smoothing, 2), i18n.current())  # the charts' titles and legends are words
        with self.lock:
            now = time.monotonic()
            got = self._figs.get(sm)
            ended = self.state.get("status") not in runs.LIVE  # a finished run's final charts
            due = ended or now - (got[1] if got else 0) >= CHARTS_EVERY_S
            if got is None or (got[0] != self.version and due):
                p = self._reader.points
                marks = [e for e in self._reader.events if e.get("kind") == "set"]
                steps, loss_D = p("loss_D")
                loss = ((self._reader.config() or {}).get("train") or {}).get("loss", "bce")
                figs = (
                    plots.loss_figure(steps, loss_D, p("loss_G")[1], smoothing, loss),
                    plots.d_outputs_figure(steps, p("D_x")[1], p("D_G_z1")[1], smoothing, loss),
                    plots.grad_norm_figure(
                        steps, p("grad_norm_G")[1], p("grad_norm_D")[1], smoothing
                    ),
                    plots.throughput_figure(steps, p("examples_per_sec")[1], device),
                )
                for fig in figs[:2]:
                    plots.mark_events(fig, marks)
                for fig in figs:
                    fig.__class__ = SharedFigure  # same figure, its dict made once
                if got is None and len(self._figs) >= 8:  # a few smoothings in use at once
                    self._figs.pop(next(iter(self._figs)))
                self._figs[sm] = (self.version, now, figs)
            return self._figs[sm][2]

    def diversity(self, tile: int) -> tuple[list[int], list[float]]:
        """Sample diversity of every timeline frame; each frame is scored once."""
        frames = self._reader.timeline()
        with self.lock:
            for step, path in frames:
                if step not in self._diversity:
                    try:
                        grid = png_array(path.read_bytes())
                    except OSError:
                        continue
                    self._diversity[step] = health.diversity(health.grid_tiles(grid, tile))
            steps = [s for s, _path in frames if s in self._diversity]
            return steps, [self._diversity[s] for s in steps]

    def hints(self, config: dict, tile: int) -> list:
        """Health hints from the downsampled history and the diversity series, once per
        data version for every session."""
        key = (self.version, tile)
        if self._hints is None or self._hints[0] != key:
            found = health.check(config, lambda k: self.series(k)[1], self.diversity(tile))
            self._hints = (key, found)
        return self._hints[1]


class SharedFigure(go.Figure):
    """A chart every session draws as it is: st.plotly_chart calls to_dict() on each rerun
    (~6 ms a chart on a busy 2-core machine), so the dict is made once and reused."""

    def to_dict(self) -> dict:
        d = self.__dict__.get("_shared_dict")
        if d is None:  # two sessions racing here both compute the same dict: harmless
            d = super().to_dict()
            self.__dict__["_shared_dict"] = d
        return d


@st.cache_resource(show_spinner=False, max_entries=16)
def shared_run(run_dir: str) -> SharedRun:
    """The one SharedRun of a run folder in this server."""
    return SharedRun(run_dir)


def job_summary(config: dict | None) -> str:
    """'classroom-cpu on shapes, batch 64, lr 0.0005' for a run's config."""
    c = config or {}
    t, d = c.get("train", {}), c.get("data", {})
    loss = t.get("loss", "bce")
    text = _("{preset} on {source}, batch {batch}, lr {lr}, β1 {beta1}").format(
        preset=c.get("preset", "?"),
        source=d.get("source", "?"),
        batch=t.get("batch_size"),
        lr=t.get("lr"),
        beta1=t.get("beta1"),
    )
    return text if loss == "bce" else text + _(", loss {loss}").format(loss=loss)


def current_config() -> tuple[Config, str]:
    """The model the user is looking at: the job's, else the Train page's, else the preset."""
    job = current_job()
    if job is not None and job.alive:
        return job.config(), _("the current training job")
    saved = state.train_cfg()
    if saved:
        return Config.from_dict(saved), _("the Train page's settings")
    return preset(DEFAULT_PRESET), _("the {preset} preset").format(preset=DEFAULT_PRESET)


def saved_checkpoints(limit: int = 30) -> list[Path]:
    """Checkpoints and generator exports under runs_dir(), newest first."""
    root = runs_dir()
    if not root.is_dir():
        return []
    files = [
        p
        for p in root.rglob("*")
        if p.suffix in (".pt", ".safetensors") and p.is_file() and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]

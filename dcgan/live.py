"""A visitor's short live run: capped in time, streamed as plain data, ending in a generator file.

The Space's Train tab is a thin consumer of this module; any other UI can stream a run the same
way. There are two ways to run it and one way to watch it:

- `start(...)` (a CPU machine): the run is its own process (dcgan.runs.job), so the
  trainer never shares a GIL with the server's sampling requests (a trainer in the server's
  process ran 95 % slower under its viewers, docs/RELIABILITY.md).
- `train_here(...)` (ZeroGPU): the GPU exists only inside the function `spaces.GPU` decorates,
  and ZeroGPU already runs that function in a worker process of its own, so the run trains
  there, in a thread of that worker (dcgan.runs.job.run_job: Trainer + drive + RunWriter), while
  the generator function streams it.
- `follow(run_dir, seconds)` tails the run folder either way (dcgan.runs.RunReader) and yields
  a `Frame` about every POLL_S: numbers, lists of numbers and a uint8 array, so it pickles
  across ZeroGPU's process boundary. When the time is up it sends "stop"; the run then writes
  its final generator (the EMA one when on) and the last frame names that file.

The run folder is per visitor (a folder of their own under a temporary root), so its
one-job-at-a-time lock is also "one run per visitor", and cleaning up is removing the folder:
their own images too, which dcgan.upload prepares inside it (the source UPLOAD).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import runs
from .config import Config, ConfigError, preset
from .data import SOURCES, DataError
from .i18n import N_
from .images import png_array
from .runs import LIVE, JobStatus

PRESET = "classroom-cpu"  # tuned for recognisable samples within a minute on a laptop CPU
SECONDS = 60  # the run's cap, from its first step: what a visitor watches on a CPU Space
STEP_CEILING = 100_000  # steps never end a live run first; the clock does (or a test's cap)
# ...except a run whose watcher is gone (the server was killed): a process run is also capped
# at this many steps per second of its time, far above the ~27 the classroom preset makes on
# one idle core, so it ends by itself (within about 20 minutes) instead of training for hours
MAX_STEPS_PER_S = 500
# A new fixed-noise grid every GRID_EVERY_S of training, by the clock rather than every N steps:
# the same preset makes 27 steps/s on one idle core and 5 on the busy machine the Space figures
# come from, so no step count gives "about every second" on both. The config says so
# (sample_every 1, sample_min_s GRID_EVERY_S); a grid of 64 images costs a few ms.
GRID_EVERY_S = 1.0
POLL_S = 0.25  # how often the watcher reads the folder: a stat and a small read, cheap
STOP_GRACE_S = 15.0  # a run that has not ended this long after "stop" is killed
# the clock counts training, from the first step: a load slowed by a busy machine (or a spare
# process still importing) never eats the visitor's minute; a load this much longer is stopped
LOAD_LIMIT_S = 120.0
FASHION_LIMIT = 12_000  # Fashion-MNIST images kept: a quick load, plenty for a minute's run
# the source name of a visitor's own images: the zip dcgan.upload prepared in their folder
UPLOAD = "upload"
UPLOAD_LABEL = N_("Your images (zip)")


def sources(upload: bool = False) -> dict[str, str]:
    """Datasets a live run may use here, name -> label (an English msgid, which a UI translates
    where it shows it): the registry's entries whose in_space() holds (the built-in shapes;
    Fashion-MNIST when its files are on this machine), then the visitor's own upload when
    asked."""
    found = {s.name: s.label for s in SOURCES.values() if s.in_space()}
    return {**found, UPLOAD: UPLOAD_LABEL} if upload else found


def uploaded_zip(root: str | Path) -> Path:
    """Where a visitor's prepared upload lives in their folder (dcgan.upload writes it)."""
    # its name is what the run and the generator file record as the dataset
    return Path(root) / "upload" / "your-images.zip"


def run_source(source: str, root: str | Path) -> str:
    """The source a live run under root loads: UPLOAD is the visitor's prepared zip there (a
    DataError when they have none), any other name is itself."""
    if source != UPLOAD:
        return source
    path = uploaded_zip(root)
    if not path.is_file():
        raise DataError("Upload a zip of images first: there is no upload of yours to train on.")
    return str(path)


def live_config(source: str, *, seed: int = 0, max_steps: int | None = None) -> Config:
    """The preset for a live run on `source`; max_steps caps it (tests), else the clock does.

    A path (a visitor's upload) is decoded for this run only, never into the shared data
    cache, so removing the visitor's folder removes every copy; and flipped, since an upload
    is small and a left-right flip doubles it."""
    overrides = {
        "data.source": source,
        "train.seed": seed,
        "train.steps": max_steps or STEP_CEILING,
        "train.sample_every": 1,  # a grid at the first step GRID_EVERY_S after the last:
        "train.sample_min_s": GRID_EVERY_S,  # by the clock, however fast the hardware steps
        "train.checkpoint_every": STEP_CEILING,  # a minute's run is never resumed: no mid-run .pt
    }
    if source == "fashion-mnist":
        overrides["data.limit"] = FASHION_LIMIT
    if source not in SOURCES:
        overrides["data.cache"] = False
        overrides["data.flip"] = True
    cfg = preset(PRESET)
    return cfg.replace(**overrides)


@dataclass
class Frame:
    """What a viewer needs at one moment of a live run; plain data, so it pickles anywhere."""

    status: str  # a JobStatus value: loading, running, stopped, finished, failed
    step: int  # steps done
    elapsed: float  # seconds since the run was started (loading included)
    seconds: float  # the run's time cap, counted from its first step
    steps: list[float] = field(default_factory=list)  # x of the loss series (at most ~1,000)
    loss_D: list[float] = field(default_factory=list)
    loss_G: list[float] = field(default_factory=list)
    grid: np.ndarray | None = None  # uint8 (H, W, 3): a new fixed-noise grid, None = unchanged
    grid_step: int = 0  # the step of the newest grid sent so far
    examples_per_sec: float = 0.0
    generator: str | None = None  # the exported generator, on the frame where the run ended
    error: str | None = None
    trained: float = 0.0  # seconds since the first step: what the cap counts

    @property
    def ended(self) -> bool:
        """True once the run is over, whatever the reason."""
        return self.status not in LIVE


# ---------------------------------------------------------------------- a spare process
#
# The waiting job process (dcgan.runs.launch.warm) that makes the first grid come within a second or
# two: the Space keeps one ready between visitors, as the app does between runs.


def warm(env: dict | None = None) -> None:
    """Make sure one spare job process is waiting (dcgan.runs.launch.warm)."""
    from .runs import launch

    launch.warm(env)


def close_spare() -> None:
    """End the waiting spare job process (dcgan.runs.launch.close_spare)."""
    from .runs import launch

    launch.close_spare()


def start(
    source: str,
    root: str | Path,
    seconds: float = SECONDS,
    *,
    seed: int = 0,
    max_steps: int | None = None,
    env: dict | None = None,
) -> Path:
    """Start a live run as its own process under root; returns its folder (JobBusyError: one runs).

    The source is a name of sources(upload=True), UPLOAD being root's upload (run_source). The
    waiting spare job process takes it when there is one (dcgan.runs.launch), else a fresh one;
    either way a job process whose config puts a grid on the clock every GRID_EVERY_S.
    """
    from .runs.handle import start_job  # imports torch's trainer: only when training

    cap = max_steps or max(1, int(seconds * MAX_STEPS_PER_S))
    cfg = live_config(run_source(source, root), seed=seed, max_steps=cap)
    return start_job(cfg, root, name="run", env=env).dir


def train_here(
    source: str,
    root: str | Path,
    seconds: float,
    *,
    seed: int = 0,
    max_steps: int | None = None,
    poll: float = POLL_S,
) -> Iterator[Frame]:
    """Train in this process (a thread) and stream it: for ZeroGPU, where the GPU lives here."""
    from .runs.job import prepare, run_job

    cfg = live_config(run_source(source, root), seed=seed, max_steps=max_steps)
    root = Path(root)
    name = f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    with runs.JobSlot(root, root / name) as slot:  # the same "one run per visitor" as a process run
        run_dir = prepare(cfg, root, name=name)
        slot.point(run_dir)

        def body() -> None:
            try:
                run_job(run_dir)  # writes its own end, whatever it is
            finally:
                slot.release()

        thread = threading.Thread(target=body, name="dcgan-live-run", daemon=True)
        slot.hand_over()  # to the thread, which releases it when the run ends
        thread.start()
    try:
        yield from follow(run_dir, seconds, poll=poll)
    finally:
        runs.send_control(run_dir, "stop")  # harmless when it has ended; ends it otherwise
        thread.join(STOP_GRACE_S)


def follow(run_dir: str | Path, seconds: float, *, poll: float = POLL_S) -> Iterator[Frame]:
    """Frames of a run until it ends; stops it after `seconds` of training (or LOAD_LIMIT_S of
    loading), or when the viewer goes away.

    A frame comes every `poll` seconds while something changed (a new metric row or grid) and
    at least once a second otherwise, so the elapsed time keeps moving while data loads.
    """
    run_dir = Path(run_dir)
    reader = runs.RunReader(run_dir)
    st = reader.status()
    t0 = float(st.get("started_at") or time.time())
    grid_step, stop_at, last_sent, train_t0 = -1, None, 0.0, None
    ended = False
    try:
        while True:
            st = reader.status()
            ended = st.get("status") not in LIVE
            fresh = reader.update()
            grid = None
            frames = reader.timeline()
            if frames and frames[-1][0] != grid_step:
                try:
                    grid = png_array(frames[-1][1].read_bytes())
                    grid_step = frames[-1][0]
                except OSError:  # thinned away between listing and reading: the next one comes
                    grid = None
            now = time.time()
            elapsed = now - t0
            if train_t0 is None and (st.get("status") != JobStatus.LOADING or grid is not None):
                train_t0 = now
            trained = now - train_t0 if train_t0 is not None else 0.0
            over = trained >= seconds if train_t0 is not None else elapsed >= LOAD_LIMIT_S
            if stop_at is None and not ended and over:
                runs.send_control(run_dir, "stop")
                stop_at = now
            elif stop_at is not None and not ended and now - stop_at > STOP_GRACE_S:
                _kill(run_dir, st)
            if ended or grid is not None or fresh or now - last_sent >= 1.0:
                last_sent = now
                steps, loss_d = reader.points("loss_D")
                _, loss_g = reader.points("loss_G")
                gen = run_dir / runs.GENERATOR
                if ended and gen.exists():  # the last grid is the download's own drawing
                    last = final_grid(run_dir)
                    grid = last if last is not None else grid
                yield Frame(
                    status=str(st.get("status")),
                    step=int(st.get("step") or reader.last_row.get("step", 0)),
                    elapsed=elapsed,
                    seconds=float(seconds),
                    steps=steps,
                    loss_D=loss_d,
                    loss_G=loss_g,
                    grid=grid,
                    grid_step=max(grid_step, 0),
                    examples_per_sec=float(reader.last_row.get("examples_per_sec", 0.0)),
                    generator=str(gen) if ended and gen.exists() else None,
                    error=st.get("error") if st.get("status") == JobStatus.FAILED else None,
                    trained=trained,
                )
            if ended:
                return
            time.sleep(poll)  # a poll interval, not a wait on a guess: the loop checks the file
    finally:
        if not ended:  # the viewer left (tab closed, cancelled): the run must not go on alone
            runs.send_control(run_dir, "stop")


def final_grid(run_dir: Path) -> np.ndarray | None:
    """The fixed-noise grid drawn by the run's final generator (the file a visitor downloads),
    with the Trainer's own fixed noise: the last grid shows exactly what they keep."""
    import math

    from .checkpoint import CheckpointError, load_generator
    from .images import grid_array
    from .latent import generate
    from .trainer import fixed_noise

    try:
        cfg = Config.from_dict(runs.read_json(run_dir / runs.CONFIG) or {})
        G, _, _ = load_generator(run_dir / runs.GENERATOR)
    except (CheckpointError, ConfigError, OSError):
        return None
    n = cfg.train.n_samples
    return grid_array(generate(G, fixed_noise(cfg)), nrow=int(math.sqrt(n)) or None)


def _kill(run_dir: Path, st: dict) -> None:
    """End a run's process that did not answer stop (only a process run has its own pid)."""
    pid = st.get("pid")
    if pid and pid != os.getpid() and runs.pid_alive(pid, st.get("proc_start")):
        from .runs.handle import RunHandle

        RunHandle(run_dir).kill()


def stop(root: str | Path) -> bool:
    """Ask the live run under root (a visitor's folder) to stop; True when one was live."""
    held = runs.read_lock(Path(root))
    if held is None:
        return False
    runs.send_control(Path(held["run"]), "stop")
    return True


def discard(root: str | Path, timeout: float = STOP_GRACE_S) -> None:
    """Stop the live run under root (killing it if it does not answer) and remove the folder."""
    root = Path(root)
    held = runs.read_lock(root)
    if held is not None:
        from .runs.handle import RunHandle

        RunHandle(held["run"]).stop_or_kill(timeout)
    shutil.rmtree(root, ignore_errors=True)


def sweep(parent: str | Path, max_age_s: float) -> list[Path]:
    """Remove visitors' folders under parent untouched for max_age_s and with no live run:
    sessions that ended without a goodbye (an API client, a crashed browser)."""
    removed = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    now = time.time()
    for d in parent.iterdir():
        try:
            age = now - max(p.stat().st_mtime for p in [d, *d.rglob("*")])
        except (OSError, ValueError):
            continue
        if d.is_dir() and age > max_age_s and runs.read_lock(d) is None:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed

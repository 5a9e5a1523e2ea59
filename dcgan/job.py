"""A training job: its own process that trains and writes a run folder, and the handle UIs hold.

Longer than the house's 400 lines on purpose: the loop, the commands it answers, the process
that runs it and the spare that waits for it are one protocol, checked by reading them together.

Why a process: a Trainer in a thread of the Streamlit server shared one GIL with every viewer's
reruns and lost (30 viewers cut it by 95 %, docs/RELIABILITY.md). Here the trainer is a fresh
interpreter (`python -m dcgan.job RUN_DIR`, the same clean start as multiprocessing's `spawn`,
never `fork`, since the server may already hold CUDA), in a session of its own, so killing or
restarting the server, a crash in a page or a reload never loses the run. Readers see the run
only through its folder (dcgan.runs); controls cross as lines appended to control.jsonl:

    pause | resume | stop | save | step {n, part} | set {lr, beta1, delay}

`drive()` is the one training loop, shared by the job process and the CLI, so a run started
with `python -m dcgan.train --out checkpoints/runs/NAME` is watched and stopped from the app
exactly like one started there.
"""

from __future__ import annotations

import copy
import faulthandler
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import torch

from . import checkpoint as ckpt
from . import runs
from .config import Config, ConfigError
from .data import DataError, load
from .images import grid_array, png_bytes
from .runs import JobBusyError, JobStatus  # noqa: F401  (UIs catch JobBusyError from here)
from .trainer import METRICS, NonFiniteError, Trainer, recalibrate_batchnorm

STATUS_EVERY_S = 0.5  # status.json refresh while training: readers poll about once a second
GENERATOR_EVERY_S = 1.0  # generator snapshots at most this often (the latent pages read them)
POLL_PAUSED_S = 0.05  # how often a paused job looks for a command: answers feel instant
PARTS = ("both", "D", "G")
REPO = Path(__file__).resolve().parents[1]


class _CancelledError(Exception):
    """A stop arrived while the data was still loading."""


def default_threads() -> int:
    """All cores but one (left to the server and the browser); OMP_NUM_THREADS overrides."""
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


def set_thread_policy() -> int:
    """Apply default_threads() to this process, once, at its start; returns the count."""
    n = default_threads()
    torch.set_num_threads(n)
    return n


def sampling_generator(tr: Trainer) -> torch.nn.Module:
    """The generator a viewer should see: the weight average when the run keeps one."""
    fn = getattr(tr, "sampling_generator", None)
    return fn() if fn is not None else tr.G


# ---------------------------------------------------------------------- writing a run


class RunWriter:
    """The training side of a run folder: status, metric rows, grids and snapshots."""

    silent = False  # True for a writer that writes nothing (torchrun ranks other than 0)

    def __init__(self, run_dir: str | Path, cfg: Config, fresh: bool = True):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / runs.SAMPLES).mkdir(exist_ok=True)
        if fresh:  # a folder reused by the CLI starts clean: no old rows, frames or commands
            for name in (runs.METRICS, runs.EVENTS, runs.CONTROL, runs.PID):
                (self.dir / name).unlink(missing_ok=True)
            for _, p in runs.timeline(self.dir):
                p.unlink(missing_ok=True)
        if not (self.dir / runs.CONFIG).exists() or fresh:
            runs.write_json(self.dir / runs.CONFIG, cfg.to_dict())
        self.cfg = cfg
        self._status = runs.read_json(self.dir / runs.STATUS) or {}
        self._status_t = 0.0
        self._gen_t = 0.0
        self._frames = len(runs.timeline(self.dir))

    def status(self, force: bool = True, **changes) -> None:
        """Merge changes into status.json; unforced writes happen at most every STATUS_EVERY_S."""
        self._status.update(changes)
        now = time.time()
        if force or now - self._status_t >= STATUS_EVERY_S:
            self._status["updated_at"] = now
            runs.write_json(self.dir / runs.STATUS, self._status)
            self._status_t = now

    def get(self, key: str, default=None):
        """A field of the status as last written."""
        return self._status.get(key, default)

    def event(self, kind: str, step: int, **info) -> None:
        """A mark for the charts (a pause, an lr change, a save)."""
        runs.append_jsonl(self.dir / runs.EVENTS, [{"kind": kind, "step": step, **info}])

    def metrics(self, tr: Trainer, rows: torch.Tensor) -> None:
        """Append the rows the trainer just flushed, one per step."""
        n = len(rows)
        steps = tr.history.step[-n:]
        eps = tr.history.columns["examples_per_sec"][-1] if tr.history.step else 0.0
        out = []
        for s, r in zip(steps, rows.tolist(), strict=True):
            out.append({"step": s, **dict(zip(METRICS, r, strict=True)), "examples_per_sec": eps})
        runs.append_jsonl(self.dir / runs.METRICS, out)
        self.status(force=False, step=tr.step_num, epoch=tr.epoch, examples_per_sec=eps)

    def grid(self, step: int, grid) -> None:
        """Encode the fixed-noise grid once, as a timeline frame and as the latest grid."""
        data = png_bytes(grid)
        runs.write_atomic(self.dir / runs.SAMPLES / f"step-{step:07d}.png", data)
        self._frames += 1
        if self._frames > runs.MAX_TIMELINE:
            frames = runs.timeline(self.dir)
            for _, p in frames[1:-1:2]:  # keep the first and the newest, thin the rest
                p.unlink(missing_ok=True)
            self._frames = len(runs.timeline(self.dir))
        runs.write_atomic(self.dir / runs.GRID, data)

    def raw_grid(self, tr: Trainer) -> None:
        """The fixed noise through the raw G, beside the average's grid."""
        raw = grid_array(tr.sample_raw(), nrow=int(math.sqrt(len(tr.fixed_noise))))
        runs.write_atomic(self.dir / runs.GRID_RAW, png_bytes(raw))

    def generator(self, tr: Trainer, force: bool = False, final: bool = False) -> None:
        """Snapshot the sampling generator for the latent pages (throttled).

        final: the run's last snapshot; an EMA generator gets BatchNorm statistics recomputed
        from fresh latents first, since its averaged ones lag its averaged weights
        (dcgan.trainer.recalibrate_batchnorm; checkpoints/README.md measures it)."""
        now = time.time()
        if not force and now - self._gen_t < GENERATOR_EVERY_S:
            return
        self._gen_t = now
        G = sampling_generator(tr)
        if final and getattr(tr, "G_ema", None) is not None:
            G = recalibrate_batchnorm(copy.deepcopy(G), self.cfg.model.nz)
        ckpt.export_generator(
            G,
            self.cfg.model,
            self.dir / runs.GENERATOR,
            meta={"step": tr.step_num, "preset": self.cfg.preset, "dataset": self.cfg.data.source},
        )


def check_finite_state(tr: Trainer) -> None:
    """Raise NonFiniteError if any weight or buffer is NaN/inf (losses can hide a bad BN stat)."""
    for net_name, net in (("G", tr.G), ("D", tr.D)):
        for name, v in net.state_dict().items():
            if v.is_floating_point() and not bool(torch.isfinite(v).all()):
                raise NonFiniteError(
                    f"training diverged near step {tr.step_num}: {net_name}'s {name} "
                    "became NaN/inf. Try a lower learning rate or the 'paper' preset."
                )


def save_last(tr: Trainer, w: RunWriter) -> Path:
    """Write the last-good checkpoint, only after checking every weight is finite."""
    if w.silent:  # a torchrun rank other than 0: rank 0 writes the run's checkpoints
        return w.dir / runs.LAST
    tr.flush()  # raises NonFiniteError before a bad state can be saved
    check_finite_state(tr)
    path = ckpt.save(tr.state_dict(), w.dir / runs.LAST)
    w.status(checkpoint_path=str(path))
    return path


# ---------------------------------------------------------------------- test faults


def inject(tr: Trainer, fault: dict | None) -> None:
    """Test-only faults, named in job.json so they cross the process boundary.

    {"at": step, "kind": "nan" | "inf" | "-inf" | "nan_bn" | "raise" | "oom" | "memory" |
    "exit" | "sigkill" | "segfault", "net": "G" | "D"}
    """
    if not fault or tr.step_num != int(fault.get("at", -1)):
        return
    kind = fault.get("kind", "raise")
    net = tr.G if fault.get("net", "G") == "G" else tr.D
    if kind in ("nan", "inf", "-inf"):
        with torch.no_grad():
            next(net.parameters()).fill_(float(kind))
    elif kind == "nan_bn":
        bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
        bn.running_var.fill_(float("nan"))
    elif kind == "oom":
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    elif kind == "memory":
        raise MemoryError()
    elif kind == "exit":
        raise SystemExit(3)
    elif kind == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "segfault":
        faulthandler._sigsegv()  # a real SIGSEGV, as a crashing native library raises
    else:
        raise RuntimeError("injected fault")


# ---------------------------------------------------------------------- the loop


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

    Pause and stop answer within one step: the inbox is a stat() per step, read only when a
    command arrives. A paused job sleeps POLL_PAUSED_S between looks.
    """
    t = tr.cfg.train
    first_step = tr.step_num
    budget = 0  # single steps requested while paused
    part = "both"
    delay = 0.0  # slow motion: seconds between steps
    stop = False

    def set_status(status: JobStatus) -> None:
        w.status(status=status, step=tr.step_num, epoch=tr.epoch)

    set_status(JobStatus.PAUSED if paused else JobStatus.RUNNING)
    queue: list[dict] = []
    while tr.step_num < tr.total_steps:
        if inbox is not None:
            queue.extend(inbox.poll())
        # in order: commands after a "step" wait until its steps are done
        while queue and budget == 0 and not stop:
            c = queue.pop(0)
            cmd, args = c.get("cmd"), c.get("args") or {}
            if cmd == "pause" and not paused:
                paused = True
                tr.flush()
                set_status(JobStatus.PAUSED)
                w.event("pause", tr.step_num)
            elif cmd == "resume" and paused:
                paused, budget = False, 0
                set_status(JobStatus.RUNNING)
                w.event("resume", tr.step_num)
            elif cmd == "stop":
                stop = True
            elif cmd == "save":
                path = ckpt.save(tr.state_dict(), w.dir / f"step-{tr.step_num}.pt")
                w.generator(tr, force=True)
                w.event("saved", tr.step_num, path=str(path), id=c.get("id"))
            elif cmd == "step":
                budget += max(1, int(args.get("n", 1)))
                part = args.get("part", "both") if args.get("part") in PARTS else "both"
                if not paused:
                    paused = True
                    set_status(JobStatus.PAUSED)
            elif cmd == "set":
                changed = apply_hparams(tr, args)
                if "delay" in args:
                    delay = min(5.0, max(0.0, float(args["delay"])))
                    changed["delay"] = delay
                if changed:
                    w.event("set", tr.step_num, **changed)
        if stop:
            break
        if paused and budget == 0:
            time.sleep(POLL_PAUSED_S)
            continue
        if paused:
            budget -= 1
            tr.step(part=part)
            tr.flush()
            w.generator(tr, force=True)
            if tr.step_num % t.sample_every:
                tr.record_sample()  # a single step always shows its effect
            set_status(JobStatus.PAUSED)
        else:
            tr.step()
        inject(tr, fault)
        if on_step is not None:
            on_step(tr)
        if tr.step_num % t.checkpoint_every == 0:
            save_last(tr, w)
        if delay:
            time.sleep(delay)
    tr.flush()
    if tr.step_num > first_step:  # a job stopped before its first step overwrites nothing
        save_last(tr, w)
    w.generator(tr, force=True, final=True)
    return JobStatus.STOPPED if stop else JobStatus.FINISHED


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
    from .tensorboard import TB_DIR, TBWriter

    tb = TBWriter(Path(run_dir) / TB_DIR)

    def on_metrics(trainer, rows):
        steps = trainer.history.step[-len(rows) :]
        for s, r in zip(steps, rows.tolist(), strict=True):
            tb.add_scalars(s, dict(zip(METRICS, r, strict=True)))

    tr.add_callback("on_metrics", on_metrics)
    tr.add_callback("on_sample", lambda trainer, grid: tb.add_grid(trainer.step_num, grid))
    return tb


def run_job(run_dir: str | Path, on_step=None) -> JobStatus:
    """The job process's whole life: load, train, answer commands, end with a final status.

    on_step(trainer), when given, runs after every step (an experiment's probes).

    Every way it can end writes status.json, except a death it cannot see (SIGKILL, a
    segfault); readers then find a dead pid and say so (runs.RunReader.status).
    """
    run_dir = Path(run_dir)
    spec = runs.read_json(run_dir / runs.SPEC) or {}
    cfg = Config.from_dict(runs.read_json(run_dir / runs.CONFIG) or {}).validate()
    w = RunWriter(run_dir, cfg, fresh=False)
    inbox = runs.ControlInbox(run_dir)
    pid = os.getpid()
    runs.write_pid(run_dir, pid)
    w.status(
        status=JobStatus.LOADING,
        pid=pid,
        started_at=spec.get("started_at", time.time()),
        step=0,
        total_steps=0,
        load_progress=0.0,
        threads=torch.get_num_threads(),
        error=None,
    )
    tr = None
    paused = False

    def progress(done, total):
        nonlocal paused
        for c in inbox.poll():  # stop and pause answer during a long decode too
            if c.get("cmd") == "stop":
                raise _CancelledError
            paused = {"pause": True, "resume": False}.get(c.get("cmd"), paused)
        w.status(force=False, load_progress=done / total if total else 0.0)

    try:
        data = load(
            cfg.data.source,
            cfg.model.image_size,
            classes=cfg.data.classes,
            limit=cfg.data.limit,
            progress=progress,
        )
        progress(1, 1)
        tr = Trainer(cfg, data)
        if spec.get("resume"):
            tr.load_state_dict(ckpt.load(spec["resume"], map_location=tr.device))
        attach(tr, w)
        end = drive(tr, w, inbox, fault=spec.get("fault"), paused=paused, on_step=on_step)
        w.status(status=end, step=tr.step_num, epoch=tr.epoch)
        return end
    except _CancelledError:
        w.status(status=JobStatus.STOPPED)
        return JobStatus.STOPPED
    except NonFiniteError as e:
        return _fail(w, tr, str(e) + _kept(w))
    except (torch.OutOfMemoryError, MemoryError) as e:
        return _out_of_memory(w, tr, cfg, isinstance(e, torch.OutOfMemoryError))
    except (ConfigError, DataError, ckpt.CheckpointError) as e:
        return _fail(w, tr, str(e))
    except Exception as e:  # a crash ends this job with its reason, never silently
        if "out of memory" in str(e).lower():  # MPS and some CUDA paths raise RuntimeError
            return _out_of_memory(w, tr, cfg, True)
        return _fail(w, tr, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}")
    except BaseException as e:  # SystemExit & co. raised inside a library: still a failed job
        return _fail(w, tr, f"{type(e).__name__}: {e} (the training process was asked to exit)")


def _kept(w: RunWriter) -> str:
    kept = w.get("checkpoint_path")
    return f" The last good checkpoint is kept at {kept}." if kept else ""


def _out_of_memory(w: RunWriter, tr: Trainer | None, cfg: Config, gpu: bool) -> JobStatus:
    """Fail with a message that names the batch size and a smaller one to try."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    bs = cfg.train.batch_size
    what = "GPU memory" if gpu and torch.cuda.is_available() else "memory"
    return _fail(
        w,
        tr,
        f"out of {what} at batch size {bs}; try a smaller batch "
        f"(for example {max(1, bs // 2)}) or a smaller image size.{_kept(w)}",
    )


def _fail(w: RunWriter, tr: Trainer | None, message: str) -> JobStatus:
    """Record a failed end; the last good checkpoint stays as it was."""
    step = tr.step_num if tr is not None else w.get("step", 0)
    w.status(status=JobStatus.FAILED, error=message, step=step)
    return JobStatus.FAILED


# ---------------------------------------------------------------------- starting and holding


_children: dict[int, tuple[subprocess.Popen, Path]] = {}  # our job processes and their runs


def run_name(cfg: Config) -> str:
    """A fresh folder name for one run: time, dataset and preset."""
    import re

    slug = re.sub(r"[^A-Za-z0-9]+", "-", Path(cfg.data.source).name).strip("-")[:30] or "data"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{cfg.preset}"


def prepare(
    cfg: Config,
    root: str | Path,
    *,
    name: str | None = None,
    resume: str | Path | None = None,
    fault: dict | None = None,
    paused: bool = False,
) -> Path:
    """Create a new run folder under root with its config and job spec; returns its path."""
    root = Path(root)
    base = name or run_name(cfg)
    run_dir, n = root / base, 1
    while run_dir.exists():  # two starts in one second get two folders
        run_dir, n = root / f"{base}-{n}", n + 1
    run_dir.mkdir(parents=True)
    w = RunWriter(run_dir, cfg)
    now = time.time()
    spec = {"resume": str(resume) if resume else None, "fault": fault, "started_at": now}
    runs.write_json(run_dir / runs.SPEC, spec)
    if paused:
        runs.send_control(run_dir, "pause")
    w.status(status=JobStatus.LOADING, started_at=now, step=0, total_steps=0)
    return run_dir


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
    runs.acquire_lock(root, root / (options.get("name") or run_name(cfg)))
    try:
        run_dir = prepare(cfg, root, **options)
        runs.point_lock(root, run_dir)
        proc = launch(run_dir, env=env)
    except BaseException:
        runs.release_lock(root)
        raise
    runs.hand_over_lock(root, proc.pid)
    return RunHandle(run_dir)


def _child_env(env: dict | None) -> dict:
    """The server's environment plus env, with the repo importable."""
    penv = dict(os.environ, **(env or {}))
    penv["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), penv.get("PYTHONPATH")]))
    penv.setdefault("PYTHONUNBUFFERED", "1")
    return penv


def spawn(run_dir: Path, env: dict | None = None) -> subprocess.Popen:
    """A fresh interpreter running run_job(run_dir), in its own session, logging to log.txt."""
    cmd = [sys.executable, "-m", "dcgan.job", str(run_dir)]
    with open(run_dir / runs.LOG, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_child_env(env),
            cwd=str(REPO),
            start_new_session=True,  # a Ctrl-C or a killed server leaves the run training
        )
    _children[proc.pid] = (proc, run_dir)
    return proc


def reap() -> None:
    """Collect this process's ended children; record why one died without a word."""
    for pid, (proc, run_dir) in list(_children.items()):
        rc = proc.poll()
        if rc is None:
            continue
        del _children[pid]
        st = runs.read_json(run_dir / runs.STATUS) or {}
        if st.get("status") in runs.LIVE:
            st.update(status=JobStatus.FAILED, error=runs.died_reason(run_dir, st, rc))
            runs.write_json(run_dir / runs.STATUS, st)
        runs.release_lock(run_dir.parent, pid)


# ---------------------------------------------------------------------- a spare process
#
# A fresh interpreter spends about 2 s of CPU importing torch and the trainer, and torch's
# first optimizer another 1.5 s importing torch._dynamo, before its first step (bench/README.md,
# `python -m bench.start_time`): most of a class's wait after Start. So a server keeps one spare
# job process that has done all that and waits for a run on stdin; Start hands it one. It
# exits by itself when the server goes (its stdin closes), so it never orphans, and it is only
# started while no job trains (its imports would take CPU from the trainer).

_spare: subprocess.Popen | None = None
_spare_lock = threading.Lock()


def _spawn_spare(env: dict | None = None) -> subprocess.Popen:
    """`python -m dcgan.job --spare`, set up as spawn() sets up a job process."""
    return subprocess.Popen(
        [sys.executable, "-m", "dcgan.job", "--spare"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,  # one line, "ready", once its imports are done
        stderr=subprocess.DEVNULL,
        env=_child_env(env),
        cwd=str(REPO),
        start_new_session=True,  # like a job: a Ctrl-C to the server does not end a run
    )


def warm(env: dict | None = None) -> None:
    """Make sure one spare process is waiting (start one if not)."""
    global _spare
    with _spare_lock:
        if _spare is None or _spare.poll() is not None:
            _spare = _spawn_spare(env)


def spare_ready(timeout: float = 60.0) -> bool:
    """Wait until the spare has done its imports (it says "ready"); False if none or not yet."""
    import select

    with _spare_lock:
        proc = _spare
    if proc is None or proc.poll() is not None or proc.stdout is None:
        return False
    got, _, _ = select.select([proc.stdout], [], [], timeout)
    return bool(got) and proc.stdout.readline().strip() == b"ready"


def _take_spare() -> subprocess.Popen | None:
    """The waiting spare, now no longer spare; None when there is none alive."""
    global _spare
    with _spare_lock:
        proc, _spare = _spare, None
    return proc if proc is not None and proc.poll() is None else None


def close_spare() -> None:
    """End the waiting spare (it exits when its stdin closes)."""
    global _spare
    with _spare_lock:
        proc, _spare = _spare, None
    if proc is not None:
        proc.stdin.close()
        try:
            proc.wait(60)  # it reads EOF once its imports are done
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def launch(run_dir: Path, env: dict | None = None):
    """Run a prepared run folder in the waiting spare, else in a fresh job process."""
    proc = _take_spare() if env is None else None
    if proc is not None:
        try:
            order = {"run_dir": str(run_dir)}
            proc.stdin.write((json.dumps(order) + "\n").encode())
            proc.stdin.close()
        except (BrokenPipeError, OSError):  # it died just now: a fresh process instead
            proc = None
    if proc is None:
        proc = spawn(run_dir, env=env)
    runs.write_pid(run_dir, proc.pid)
    _children[proc.pid] = (proc, run_dir)
    return proc


def _become_job(run_dir: Path) -> int:
    """This process's life as the job of run_dir, to its end; the process's exit code."""
    faulthandler.enable()  # a native crash leaves its Python stack in log.txt
    try:
        end = run_job(run_dir)
    finally:
        runs.release_lock(run_dir.parent)
    st = runs.read_json(run_dir / runs.STATUS) or {}
    if end == JobStatus.FAILED:
        print(f"job failed: {st.get('error')}", file=sys.stderr)
    return {JobStatus.FAILED: 1}.get(end, 0)


def _spare_main() -> int:
    """The spare's life: pay the imports and first-use costs, wait for a run, then be its job."""
    set_thread_policy()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # imports torch._dynamo now
    torch.nn.functional.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(4, 3, 4, 4))  # oneDNN
    print("ready", flush=True)
    line = sys.stdin.readline().strip()
    if not line:
        return 0  # the server went away (or closed the spare) before it was needed
    order = json.loads(line)
    run_dir = Path(order["run_dir"])
    log = open(run_dir / runs.LOG, "ab")  # noqa: SIM115  (this process's output from now on)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    return _become_job(run_dir)


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
        reap()
        return runs.RunReader(self.dir).status()

    @property
    def alive(self) -> bool:
        return self.status().get("status") in runs.LIVE

    @property
    def pid(self) -> int | None:
        """The training process's pid, as it recorded it."""
        return (runs.read_json(self.dir / runs.PID) or {}).get("pid")

    def config(self) -> Config:
        """The run's config."""
        return Config.from_dict(runs.read_json(self.dir / runs.CONFIG) or {})

    def pause(self) -> str:
        return runs.send_control(self.dir, "pause")

    def resume(self) -> str:
        return runs.send_control(self.dir, "resume")

    def stop(self) -> str:
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

    def wait(self, timeout: float | None = None, poll: float = 0.05) -> bool:
        """Block until the job has ended (stopped, finished or failed); True when it has."""
        end = math.inf if timeout is None else time.monotonic() + timeout
        while self.status().get("status") not in runs.ENDED:
            if time.monotonic() >= end:
                return False
            time.sleep(poll)
        return True

    def wait_for(self, pred, timeout: float = 60.0, poll: float = 0.02) -> dict:
        """Block until pred(status) holds or the job has ended; returns the last status."""
        end = time.monotonic() + timeout
        while True:
            st = self.status()
            if pred(st) or st.get("status") in runs.ENDED or time.monotonic() > end:
                return st
            time.sleep(poll)

    def events(self) -> list[dict]:
        """Every event so far."""
        r = runs.RunReader(self.dir)
        r.update()
        return r.events


def current_run(root: str | Path) -> RunHandle | None:
    """The live job of a runs folder (the lock's), else its newest run, else None."""
    reap()
    held = runs.read_lock(Path(root))
    if held is not None:
        return RunHandle(held["run"])
    found = runs.list_runs(Path(root))
    return RunHandle(found[0]) if found else None


def stop_all(root: str | Path, timeout: float = 20.0) -> None:
    """Stop the live job of root, killing it if it does not answer within timeout."""
    h = current_run(root)
    if h is not None and h.alive:
        h.stop()
        if not h.wait(timeout):
            h.kill()


def main(argv: list[str] | None = None) -> int:
    """`python -m dcgan.job RUN_DIR` or `--spare`: a job process, started by start_job or
    warm(), not by hand."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--spare"]:
        return _spare_main()
    if len(argv) != 1:
        print("usage: python -m dcgan.job RUN_DIR (jobs come from start_job)")
        return 2
    set_thread_policy()
    return _become_job(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())

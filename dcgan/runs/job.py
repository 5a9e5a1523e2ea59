"""A training job: the life of one process that trains and writes a run folder.

Why a process: a Trainer in a thread of the Streamlit server shared one GIL with every viewer's
reruns and lost (30 viewers cut it by 95 %, docs/RELIABILITY.md). Here the trainer is a fresh
interpreter (`python -m dcgan.runs.job RUN_DIR`, the same clean start as multiprocessing's
`spawn`, never `fork`, since the server may already hold CUDA; dcgan.runs.launch starts it), in
a session of its own, so killing or restarting the server, a crash in a page or a reload never
loses the run. Readers see the run only through its folder (dcgan.runs); controls cross as
lines appended to control.jsonl (dcgan.runs.loop).
"""

from __future__ import annotations

import faulthandler
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

import torch

from .. import checkpoint as ckpt
from .. import runs
from ..config import Config, ConfigError
from ..data import DataError, load
from ..hardware import set_thread_policy
from ..history import NonFiniteError
from ..trainer import Trainer
from .folder import JobStatus
from .loop import attach, drive
from .slot import JobSlot
from .writer import RunWriter


class _CancelledError(Exception):
    """A stop arrived while the data was still loading."""


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
            cache=cfg.data.cache,
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
    """' The last good checkpoint is kept at PATH.' when there is one, for an error message."""
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


def run_name(cfg: Config) -> str:
    """A fresh folder name for one run: time, dataset and preset."""
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


def _become_job(run_dir: Path) -> int:
    """This process's life as the job of run_dir, to its end; the process's exit code."""
    faulthandler.enable()  # a native crash leaves its Python stack in log.txt
    with JobSlot.inherit(run_dir.parent):
        end = run_job(run_dir)
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


def main(argv: list[str] | None = None) -> int:
    """`python -m dcgan.runs.job RUN_DIR` or `--spare`: a job process, started by
    dcgan.runs.launch, not by hand."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--spare"]:
        return _spare_main()
    if len(argv) != 1:
        print(
            "usage: python -m dcgan.runs.job RUN_DIR (jobs come from dcgan.runs.handle.start_job)"
        )
        return 2
    set_thread_policy()
    return _become_job(Path(argv[0]))


if __name__ == "__main__":
    sys.exit(main())

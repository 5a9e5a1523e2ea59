"""Starting engine processes: one spawn, the spare job process, and the children's environment.

Every process the engine starts (a job, an experiment, the spare) is `python -m MODULE FOLDER`
in a session of its own (a Ctrl-C or a killed server leaves it running), with the repo
importable, logging to FOLDER/log.txt, and registered here so this process reaps it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from .. import runs
from .folder import JobStatus

REPO = Path(__file__).resolve().parents[2]
JOB = "dcgan.runs.job"  # the job process's module
_children: dict[int, tuple[subprocess.Popen, Path]] = {}  # our processes and their folders


def child_env(env: dict | None) -> dict:
    """The server's environment plus env, with the repo importable."""
    penv = dict(os.environ, **(env or {}))
    penv["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), penv.get("PYTHONPATH")]))
    penv.setdefault("PYTHONUNBUFFERED", "1")
    return penv


def _popen(args: list[str], env: dict | None, **streams) -> subprocess.Popen:
    """`python -m args...` from the repo, in its own session, with child_env(env)."""
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        env=child_env(env),
        cwd=str(REPO),
        start_new_session=True,  # a Ctrl-C or a killed server leaves the process running
        **streams,
    )


def spawn(module: str, folder: Path, env: dict | None = None) -> subprocess.Popen:
    """A fresh interpreter running `python -m module folder`, logging to folder/log.txt."""
    with open(Path(folder) / runs.LOG, "ab") as log:
        proc = _popen(
            [module, str(folder)],
            env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _children[proc.pid] = (proc, Path(folder))
    return proc


def reap() -> None:
    """Collect this process's ended children; record why one died without a word."""
    for pid, (proc, folder) in list(_children.items()):
        rc = proc.poll()
        if rc is None:
            continue
        del _children[pid]
        st = runs.read_json(folder / runs.STATUS) or {}
        if st.get("status") in runs.LIVE:
            st.update(status=JobStatus.FAILED, error=runs.died_reason(folder, st, rc))
            runs.write_json(folder / runs.STATUS, st)
        runs.release_lock(folder.parent, pid)


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
    """`python -m dcgan.runs.job --spare`, started as spawn() starts a job process."""
    return _popen(
        [JOB, "--spare"],
        env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,  # one line, "ready", once its imports are done
        stderr=subprocess.DEVNULL,
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
        proc = spawn(JOB, run_dir, env=env)
    runs.write_pid(run_dir, proc.pid)
    _children[proc.pid] = (proc, run_dir)
    return proc

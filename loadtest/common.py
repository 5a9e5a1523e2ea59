"""What the load tests and bench/ui_overhead share: a free port, a server subprocess that is
always stopped, percentiles, and reading a process's CPU time, its niceness and a run folder's
progress from outside, so measuring never touches the processes measured."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .net import free_port, wait_http  # noqa: F401 - the load tests import free_port here

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


@contextmanager
def server(
    cmd: list[str],
    env: dict,
    ready_url: str,
    log: Path,
    timeout: float = 180,
    cwd: Path = ROOT,
    inherit_env: bool = True,
):
    """Run cmd (in cwd, the repo root unless told) until the block ends, its process group
    stopped then; its output goes to log. env is added to ours, or is the whole environment
    with inherit_env=False (a Space folder started as its builder would, nothing of ours)."""
    out = open(log, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**os.environ, **env} if inherit_env else env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so the whole process group can be stopped
    )
    try:
        wait_http(ready_url, proc, timeout, log)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        out.close()


@contextmanager
def streamlit_app(
    tmp: Path, omp_threads: int | None = None, data_dir: Path | None = None, env: dict | None = None
):
    """`streamlit run app.py` on a free 127.0.0.1 port, its runs (and data, if given) under tmp,
    with `env` added: yields (base URL, runs folder, the server process, its log)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log, root = Path(tmp) / "streamlit.log", Path(tmp) / "runs"
    env = {**(env or {}), "DCGAN_RUNS_DIR": str(root)}
    if data_dir is not None:
        env["DCGAN_DATA_DIR"] = str(data_dir)
    if omp_threads:
        env["OMP_NUM_THREADS"] = str(omp_threads)
    args = ["run", "app.py", "--server.headless", "true"]
    args += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    with server([python(), "-m", "streamlit", *args], env, f"{base}/_stcore/health", log) as proc:
        yield base, root, proc, log


def verdict_line(broken: list[str], ok: bool) -> int:
    """Print what broke and the verdict: 0 PASS, 1 a target missed, 2 something broke."""
    for b in broken:
        print(f"  BROKEN {b}")
    if broken:
        print("FAIL (broken)")
        return 2
    print("PASS" if ok else "FAIL (a target was missed)")
    return 0 if ok else 1


def python() -> str:
    """The interpreter running this script (the repo's .venv when run as documented)."""
    return sys.executable


def log_problems(log: Path) -> list[str]:
    """Lines of a server log that report a traceback or an error."""
    if not log.exists():
        return []
    keys = ("Traceback", "Error", "Exception")
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if any(k in line for k in keys)
    ]


def load_note() -> str:
    """The machine's load average, to print beside every figure."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# ------------------------------------------------------------------ processes and run folders


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far, threads that have exited included."""
    if not pid:
        return None
    try:
        f = _stat_fields(pid)
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def niceness(pid: int | None = 0) -> int | None:
    """The nice value of a process (0: this one), or None when unknown or pid is None."""
    if pid is None:
        return None
    try:
        return int(_stat_fields(pid or os.getpid())[16])
    except (OSError, IndexError, ValueError):
        return None


def run_progress(run_dir: Path) -> tuple[float, int]:
    """(status.json's updated_at, step) of a run folder: the job's own clock and count."""
    from dcgan import runs

    st = runs.read_json(Path(run_dir) / runs.STATUS) or {}
    return float(st.get("updated_at") or time.time()), int(st.get("step") or 0)


def job_pid(run_dir: Path) -> int | None:
    """The pid of a run's training process, as it recorded it (pid.json, else status.json)."""
    from dcgan import runs

    for name in (getattr(runs, "PID", None), runs.STATUS):
        if name:
            pid = (runs.read_json(Path(run_dir) / name) or {}).get("pid")
            if pid:
                return int(pid)
    return None

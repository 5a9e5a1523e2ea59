"""Benchmarks for the DCGAN Playground engine: speed goals live here, never in timed tests.

    python -m bench.train_throughput --device cpu --batch-size 64 [--json]
    python -m bench.generate_latency [--json]
    python -m bench.ablation [--json]             # each speed-up switched off in turn
    python -m bench.precision_quality [--json]    # bf16 vs fp32 after a fixed step count

This module holds what they share: their command line (a table of options, then --json),
where the reference loop and the benchmark data live, a description of the machine and its
load, timing a call, printing a result (summary or JSON), and running a measurement in a
fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """A benchmark could not run; the message says what is missing and how to fix it."""


def parser(module: str, doc: str | None, options: dict[str, dict]) -> argparse.ArgumentParser:
    """A benchmark's command line, `python -m <module>`: `options` maps each flag to
    add_argument's keywords, and --json (print the result as JSON) follows them."""
    p = argparse.ArgumentParser(prog=f"python -m {module}", description=doc)
    for flag, kwargs in options.items():
        p.add_argument(flag, **kwargs)
    p.add_argument("--json", action="store_true")
    return p


def reference_script() -> Path:
    """The chapter's loop: $DCGAN_BENCH_REFERENCE, else ../shared/bench/reference_d2l.py."""
    env = os.environ.get("DCGAN_BENCH_REFERENCE")
    path = Path(env) if env else ROOT.parent / "shared" / "bench" / "reference_d2l.py"
    if not path.is_file():
        raise BenchError(
            f"the reference loop is not at {path}; set DCGAN_BENCH_REFERENCE to "
            "reference_d2l.py, or pass --engine-only to measure the engine alone."
        )
    return path


def benchmark_data() -> Path:
    """Pokemon sprites: $DCGAN_BENCH_DATA, else $DCGAN_SHARED_DATA/pokemon.zip, else ../shared."""
    env = os.environ.get("DCGAN_BENCH_DATA")
    if env:
        cands = [Path(env)]
    else:
        shared = os.environ.get("DCGAN_SHARED_DATA")
        cands = [Path(shared) / "pokemon.zip"] if shared else []
        cands.append(ROOT.parent / "shared" / "data" / "pokemon.zip")
    for path in cands:
        if path.exists():
            return path
    raise BenchError(
        f"no benchmark data at {cands[-1]}; pass --data with an ImageFolder zip or folder "
        "(d2l's pokemon.zip), or set DCGAN_BENCH_DATA."
    )


def cpu_model() -> str:
    """The CPU's model name, as lscpu prints it."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "cpu") -> dict:
    """Where a figure was measured: CPU, cores, load, torch version, GPU when used."""
    import torch

    from dcgan.hardware import cpu_has_bf16

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_bf16(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_avg_1m": load_avg(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def load_avg() -> float | None:
    """The 1-minute load average (how busy the machine was), where the OS reports it."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def load_span(r: dict) -> str:
    """'load X before, Y after' for a result holding load_avg_1m_before and machine()."""
    return f"load {r.get('load_avg_1m_before')} before, {r['machine']['load_avg_1m']} after"


def median_ms(
    fn: Callable[[], object],
    repeats: int,
    warmup: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median milliseconds of fn() on clock (wall by default, time.process_time for CPU)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        ts.append((clock() - t0) * 1e3)
    return median(ts)


def report(
    measure: Callable[[], dict],
    summary: Callable[[dict], str],
    as_json: bool,
    errors: tuple[type[BaseException], ...] = (BenchError,),
) -> dict | None:
    """Run a measurement and print its summary (or JSON); None, with 'error: ...', if it failed."""
    try:
        r = measure()
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return None
    print(json.dumps(r, default=str) if as_json else summary(r))
    return r


def run_json(cmd: list[str], timeout: float, what: str, env: dict | None = None) -> dict:
    """Run a measurement in a fresh process and parse the JSON object it prints last."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"{what} took longer than {timeout:.0f} s; lower --steps.") from e
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-8:]
        raise BenchError(f"{what} failed (exit {r.returncode}):\n  " + "\n  ".join(tail))
    for line in reversed(r.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError(f"{what} printed no JSON result:\n{r.stdout[-2000:]}")


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return float(statistics.median(values))


def python() -> str:
    """This interpreter, so measurements run in the same environment."""
    return sys.executable

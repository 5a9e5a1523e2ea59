"""Start to first step: from dcgan.runs.handle.start_job to a status.json that says step >= 1.

    python -m bench.start_time [--repeats 5] [--warmup 1] [--preset classroom-cpu]
                               [--dataset shapes] [--json]
    python -m bench.start_time --spare     # as the Train page starts a job: in a waiting spare

What a teacher waits for after pressing Start, process start included: a fresh interpreter
(`python -m dcgan.runs.job`), importing torch and the engine, loading the data from a warm cache,
building the Trainer and its optimisers, the first step and its sample grid. One warm-up start
(not counted; --warmup) fills the data cache and the OS's file cache first; every start after it
is a fresh process in a fresh run folder, stopped once it has taken its first step.

The job's status.json is read every 10 ms, so each start is split into the stages a reader
can see: the child's first own status (interpreter, torch and engine imported), the Trainer
ready (total_steps known: data loaded, models and optimisers built), and step 1. The CPU the
job process used up to its first step is read from /proc too: on a busy machine the wall time
is that CPU stretched by the load, and on an idle core the two agree. Target: median under
5 s on a warm cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import BenchError, load_avg, load_span, machine, median, parser, report
from loadtest.common import cpu_seconds, job_pid

TARGET_S = 5.0
SPLIT = """
import sys, time
c0 = time.process_time()
out = {}
def mark(what):
    out[what] = round(time.process_time() - c0, 3)
import torch; mark("import torch")
import dcgan.runs.handle; mark("import the engine (dcgan.runs.handle)")
from dcgan.config import preset
from dcgan.data import load
from dcgan.trainer import Trainer
cfg = preset(sys.argv[1]).replace(**{"data.source": sys.argv[2], "train.steps": 10}).validate()
torch.set_num_threads(dcgan.hardware.default_threads())
data = load(cfg.data.source, cfg.model.image_size); mark("load the data (warm cache)")
import torch._dynamo; mark("import torch._dynamo (Adam's first call does it)")
tr = Trainer(cfg, data); mark("build the Trainer")
tr.step(); mark("the first step")
print(out)
"""


def one_start(cfg, root: Path, timeout: float) -> dict:
    """Start one job, time its stages from status.json, stop it; seconds since start_job."""
    from dcgan import runs
    from dcgan.runs.handle import start_job

    t0 = time.perf_counter()
    h = start_job(cfg, root)
    child = ready = first = cpu = None
    st: dict = {}
    try:
        while time.perf_counter() - t0 < timeout:
            st = runs.read_json(h.dir / runs.STATUS) or st
            now = time.perf_counter() - t0
            if child is None and "threads" in st:  # written by the child itself, first thing
                child = now
            if ready is None and st.get("total_steps"):
                ready = now
            if st.get("step", 0) >= 1:
                first = now
                cpu = cpu_seconds(job_pid(h.dir))  # the child's own CPU: what load cannot inflate
                break
            if st.get("status") in ("failed", "finished", "stopped"):
                raise BenchError(f"the job ended before its first step: {st.get('error')}")
            time.sleep(0.01)
        else:
            raise BenchError(
                f"no first step within {timeout:.0f} s (status {st.get('status')}, load "
                f"progress {st.get('load_progress')}); the end of its log:\n{runs.log_tail(h.dir)}"
            )
    finally:
        h.stop_or_kill(60)
        end = time.time() + 60  # "stopped" is written just before the process lets go of the lock
        while runs.read_lock(root) is not None and time.time() < end:
            time.sleep(0.05)
    return {
        "first_step_s": first,
        "child_status_s": child,
        "trainer_ready_s": ready,
        "child_cpu_s": cpu,
        "threads": st.get("threads"),
        "precision": st.get("precision"),
        "device": st.get("device"),
    }


def split(a: argparse.Namespace) -> dict:
    """Cumulative CPU seconds at each stage of a job's start, in one fresh interpreter."""
    import ast

    from bench import ROOT, python

    r = subprocess.run(
        [python(), "-c", SPLIT, a.preset, a.dataset],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=a.timeout,
    )
    if r.returncode != 0:
        raise BenchError(f"the split run failed: {r.stderr[-1500:]}")
    return ast.literal_eval(r.stdout.strip().splitlines()[-1])


def run(a: argparse.Namespace) -> dict:
    """a.warmup starts not counted, then a.repeats timed ones; medians of each stage."""
    from dcgan.config import preset

    over = {"data.source": a.dataset, "train.steps": 100_000}
    if a.precision:
        over["train.precision"] = a.precision
    cfg = preset(a.preset).replace(**over).validate()
    load_before = load_avg()
    with tempfile.TemporaryDirectory(prefix="dcgan-start-") as tmp:
        for _ in range(a.warmup):  # the data cache and the OS's file cache
            one_start(cfg, Path(tmp), a.timeout)
        starts = []
        for _ in range(a.repeats):
            if a.spare:  # as the Train page does while nothing trains: a spare waits, ready
                from dcgan.runs import launch

                launch.warm()
                if not launch.spare_ready(a.timeout):
                    raise BenchError("the spare job process never said it was ready")
            starts.append(one_start(cfg, Path(tmp), a.timeout))
    stages_cpu = [split(a) for _ in range(a.split)]
    stages = ("child_status_s", "trainer_ready_s", "first_step_s", "child_cpu_s")
    med = {k: median([s[k] for s in starts if s[k] is not None]) for k in stages}
    return {
        "preset": a.preset,
        "dataset": a.dataset,
        "repeats": a.repeats,
        "warmup": a.warmup,
        "spare": a.spare,
        "median": med,
        "cpu_by_stage": stages_cpu,
        "starts": starts,
        "threads": starts[0]["threads"],
        "precision": starts[0]["precision"],
        "device": starts[0]["device"],
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_avg_1m_before": load_before,
        "target_s": TARGET_S,
        "met": med["first_step_s"] < TARGET_S,
        "machine": machine("cpu"),
    }


def summary(r: dict) -> str:
    """Human summary."""
    m = r["median"]
    firsts = ", ".join(f"{s['first_step_s']:.2f}" for s in r["starts"])
    return "\n".join(
        [
            f"{r['preset']} on {r['dataset']}, {r['device']} {r['precision']}, "
            f"{r['threads']} torch thread(s){' (spare)' if r.get('spare') else ''}; "
            f"{load_span(r)}; median of {r['repeats']} starts:",
            f"  child's first status (interpreter + torch + engine): {m['child_status_s']:.2f} s",
            f"  Trainer ready (data loaded, models, optimisers):     {m['trainer_ready_s']:.2f} s",
            f"  first step (and its sample grid):                    {m['first_step_s']:.2f} s"
            f"  ({firsts})",
            f"  CPU the job process used up to its first step:      {m['child_cpu_s']:.2f} s"
            " (the wall time on an idle core)",
            *(
                "  CPU by stage, cumulative (one fresh interpreter): "
                + ", ".join(f"{k} {v:.2f} s" for k, v in st.items())
                for st in r["cpu_by_stage"]
            ),
            f"Start to first step {m['first_step_s']:.2f} s: "
            + ("met" if r["met"] else "MISSED")
            + f" (target < {r['target_s']:.0f} s)",
        ]
    )


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--repeats": dict(type=int, default=5, help="timed starts after the warm-up"),
    "--warmup": dict(
        type=int, default=1, help="starts not counted, first (0 when the caches are warm)"
    ),
    "--preset": dict(default="classroom-cpu"),
    "--dataset": dict(default="shapes"),
    "--precision": dict(choices=["auto", "fp32", "bf16"]),
    "--timeout": dict(type=float, default=120, help="seconds to wait for a step"),
    "--split": dict(
        type=int, default=1, help="fresh interpreters timing each stage's CPU (0: none)"
    ),
    "--spare": dict(
        action="store_true",
        help="start each run in a waiting spare job process, as the Train page does",
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Time several starts and print the medians, or JSON with --json."""
    p = parser("bench.start_time", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if not 1 <= a.repeats <= 50 or not 0 <= a.warmup <= 5:
        p.error("--repeats must be 1-50 and --warmup 0-5")
    return 2 if report(lambda: run(a), summary, a.json) is None else 0


if __name__ == "__main__":
    sys.exit(main())

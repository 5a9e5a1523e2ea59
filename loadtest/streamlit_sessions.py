"""A classroom on the Train page: N Streamlit sessions watch one training job at once.

    python -m loadtest.streamlit_sessions --sessions 30 [--seconds 60] [--rounds 1]

Starts `streamlit run app.py` on 127.0.0.1 (unless --url points at a running one), then lowers
its own priority to nice 19, so that the load it generates competes for the CPU after the
server and the job, never before them (the server and the job it spawns keep nice 0). It starts
a long classroom-cpu job on the built-in shapes through the Train page's own widgets (Run for:
steps, Start), so the server spawns the job process as it does for a teacher. Then, reading the
job's progress from its run folder (status.json: step and the job's own clock):

1. 0 viewers for --seconds: the trainer's examples/sec with nobody watching;
2. N viewers: N sessions open the Train page at once, and once all have opened they follow its
   fragments, each on the run_every the page gives it (live view 1 s, charts 3 s, sidebar
   5 s, timeline 10 s), for --seconds, as a browser's timers do, fetching every image;
3. 0 viewers again, to bracket drift from anything else running on the machine
   (--rounds 2 repeats steps 2-3).

Each viewer is a websocket client speaking Streamlit's own protocol (the protobufs a browser
sends): it costs the server what a browser tab costs it, and no browser CPU on this machine.

The verdict judges a watching class's targets, each printed with its figure:
  - trainer examples/sec with N viewers >= 90 % of those with none (mean of the brackets);
  - the server process's CPU per viewer <= 1 % of a core ((crowd - quiet) / N);
  - fragment refresh p95 <= 1 s: from a session's rerun request for a fragment to that run's
    script_finished, over every fragment rerun of every session;
  - a new step visible within 2 s: p95 of the time from the job publishing a step in
    status.json (its updated_at, read 10 times a second) to a session being sent that step;
  - every session saw every new grid: each grid the job wrote (a timeline frame, every
    sample_every steps and at least sample_min_s apart) between the first and last grid a
    session saw is among the grids it saw;
  - every session connected and saw the step move, with 0 errors and 0 server log errors.
Exit status: 0 all targets met, 1 a target missed, 2 something broke (errors, a session that
never saw the job move, a job that stopped).
The job is stopped and the server shut down at the end; every wait is bounded.

Longer than the house's 400 lines on purpose: the protocol client, the phases and the verdict
are one measurement, read together when a figure looks wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dcgan import runs

from .common import (
    cpu_seconds,
    job_pid,
    load_note,
    log_problems,
    niceness,
    percentile,
    run_progress,
    streamlit_app,
    verdict_line,
)
from .protocol import Session, widget_state

PAGE = "train"
STEP_RE = re.compile(r"step ([\d,]+)")
TARGETS = {
    "throughput": 0.90,  # trainer examples/sec watched / unwatched, at least
    "cpu_per_viewer": 0.01,  # server cores per viewer, at most
    "refresh_p95_s": 1.0,  # fragment rerun request -> script finished, at most
    "new_step_p95_s": 2.0,  # from the job publishing a step to a session showing it, at most
    "grids_missed": 0,  # grids the job wrote that a session never showed, at most
}


@dataclass
class Viewer(Session):
    """A session on the Train page that also notes the steps and live grids it was shown."""

    page: str = PAGE
    name: str = "viewer"
    steps: list[tuple[float, int]] = field(default_factory=list)  # (time, step) as seen
    grids: dict[int, float] = field(default_factory=dict)  # live grid step -> first seen
    progress_text: str = ""

    def element(self, el) -> None:
        """The Step metric, the progress text and the live grid's step, besides the basics."""
        super().element(el)
        kind = el.WhichOneof("type")
        if kind == "metric" and el.metric.label == "Step":
            m = re.match(r"([\d,]+)", el.metric.body)
            if m:
                self.steps.append((time.time(), int(m.group(1).replace(",", ""))))
        elif kind == "progress":
            self.progress_text = el.progress.text
        elif kind == "imgs":
            for img in el.imgs.imgs:
                m = STEP_RE.match(img.caption)
                if m and "every" in img.caption:  # the live grid, not a timeline frame
                    self.grids.setdefault(int(m.group(1).replace(",", "")), time.time())

    def step_gaps(self, since: float) -> list[float]:
        """Seconds between successive new Step values seen after `since`."""
        new, last = [], None
        for t, s in self.steps:
            if t >= since and s != last:
                new.append(t)
            last = s
        return [b - a for a, b in zip(new, new[1:], strict=False)]

    def step_delays(self, published: dict[int, float]) -> list[float]:
        """Seconds from the job publishing a step (status.json) to this session showing it."""
        out, shown = [], set()
        for t, s in self.steps:
            if s not in shown and s in published:
                out.append(t - published[s])
            shown.add(s)
        return out

    def missed_grids(self, written: set[int]) -> tuple[int, int]:
        """(grids the job wrote after the first and up to the last grid seen, how many missed)."""
        if len(self.grids) < 2:
            return 0, 0
        lo, hi = min(self.grids), max(self.grids)
        expected = {s for s in written if lo < s <= hi}
        return len(expected), len(expected - set(self.grids))


# ------------------------------------------------------------------ the job


async def start_job(base: str, steps: int) -> list[str]:
    """Start a classroom-cpu job on shapes for `steps` steps through the Train page's widgets."""
    s = Viewer(base, name="driver", fetch_images=False)
    await s.open()
    unit = s.widget("Run for")
    await s.rerun([widget_state(unit, string_value="steps")])
    await s.wait_finished(120)
    length = s.widget("Number of steps")
    start = s.widget("Start")
    await s.rerun(
        [
            widget_state(unit, string_value="steps"),
            widget_state(length, double_value=float(steps)),
            widget_state(start, trigger_value=True),
        ]
    )
    await s.wait_finished(120)
    await s.close()
    said = [f"{k}: {t}" for k, t in s.alerts if k in ("SUCCESS", "WARNING", "ERROR")]
    return said + s.errors


async def stop_job(base: str) -> None:
    """Press Stop on the Train page."""
    s = Viewer(base, name="driver", fetch_images=False)
    await s.open()
    await s.rerun([widget_state(s.widget("Stop"), trigger_value=True)])
    await s.wait_finished(120)
    await s.close()


async def wait_running(root: Path, timeout: float) -> Path:
    """The run folder of the job holding root's lock, once it reports running past step 0."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        held = runs.read_lock(root)
        if held is not None:
            st = runs.RunReader(held["run"]).status()
            if st.get("status") == runs.JobStatus.RUNNING and st.get("step", 0) > 0:
                return Path(held["run"])
            if st.get("status") in runs.ENDED:
                raise RuntimeError(f"the job is {st['status']} before measuring: {st}")
        await asyncio.sleep(0.5)
    raise RuntimeError(f"no job was running in {root} within {timeout:.0f} s")


async def watch_status(
    run_dir: Path, published: dict[int, float], written: set[int], until: float
) -> None:
    """Until `until`, 10 times a second: note when each step first appears in status.json,
    and every grid the job writes (its timeline frames: the job paces them by time too)."""
    while time.time() < until:
        st = runs.read_json(run_dir / runs.STATUS) or {}
        step = st.get("step")
        if isinstance(step, int) and step not in published:
            published[step] = min(time.time(), float(st.get("updated_at") or time.time()))
        written.update(s for s, _ in runs.timeline(run_dir))
        await asyncio.sleep(0.1)


class Meter:
    """Reads the job's progress and the processes' CPU at the ends of a phase."""

    def __init__(self, run_dir: Path, pids: dict[str, int | None], batch: int):
        self.run_dir, self.pids, self.batch = run_dir, pids, batch

    def read(self) -> dict:
        """A snapshot: wall time, the job's clock and step, CPU seconds per process."""
        t_job, step = run_progress(self.run_dir)
        cpu = {k: cpu_seconds(p) for k, p in self.pids.items()}
        cpu["loadgen"] = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        return {"t": time.time(), "t_job": t_job, "step": step, "cpu": cpu}

    def phase(self, a: dict, b: dict, viewers: int) -> dict:
        """Examples/sec and cores of each process between two snapshots."""
        dt = max(b["t"] - a["t"], 1e-9)
        dt_job = max(b["t_job"] - a["t_job"], 1e-9)
        cores = {
            k: (b["cpu"][k] - a["cpu"][k]) / dt
            if a["cpu"].get(k) is not None and b["cpu"].get(k) is not None
            else None
            for k in b["cpu"]
        }
        steps = b["step"] - a["step"]
        st = runs.RunReader(self.run_dir).status()
        job_cpu = (cores.get("job") or 0.0) * dt
        return {
            "viewers": viewers,
            "seconds": dt,
            "steps": steps,
            "examples_per_sec": steps * self.batch / dt_job,
            # what the load cannot inflate: the trainer's work per CPU-second it was given
            "examples_per_job_cpu_s": steps * self.batch / job_cpu if job_cpu else math.nan,
            "cores": cores,
            "status": st.get("status"),
            "load_1m": os.getloadavg()[0],
        }


async def quiet_phase(meter: Meter, seconds: float) -> dict:
    """Nobody watching: the run folder read at both ends, the server left alone."""
    a = meter.read()
    await asyncio.sleep(seconds)
    return meter.phase(a, meter.read(), 0)


async def crowd_phase(base: str, meter: Meter, n: int, seconds: float) -> dict:
    """n sessions open the page at once, then follow its fragments for `seconds`."""
    sessions = [Viewer(base, name=f"viewer-{i}") for i in range(n)]
    t_open = time.time()
    opened = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
    open_s = time.time() - t_open
    connect_fail = [
        f"{s.name}: {type(r).__name__}: {r}"
        for s, r in zip(sessions, opened, strict=True)
        if isinstance(r, BaseException)
    ]
    live = [s for s, r in zip(sessions, opened, strict=True) if not isinstance(r, BaseException)]
    for s in live:  # the opening burst is reported apart from the steady state
        s.run_latency.clear()
    a = meter.read()
    published: dict[int, float] = {}
    written: set[int] = set()
    tail = asyncio.create_task(watch_status(meter.run_dir, published, written, a["t"] + seconds))
    await asyncio.gather(*(s.watch(a["t"] + seconds) for s in live), return_exceptions=True)
    ph = meter.phase(a, meter.read(), n)
    await tail
    await asyncio.gather(*(s.close() for s in live), return_exceptions=True)
    live_fid = {fid for s in live for fid, iv in s.autos.items() if iv <= 1.0}
    lat = [x for s in live for x, fid in s.run_latency if fid]
    lat_live = [x for s in live for x, fid in s.run_latency if fid in live_fid]
    gaps = [g for s in live for g in s.step_gaps(a["t"])]
    delays = [d for s in live for d in s.step_delays(published)]
    grids = [s.missed_grids(written) for s in live]
    ph.update(
        connected=len(live),
        open_seconds=open_s,
        saw_updates=sum(len({st for _, st in s.steps}) >= 2 for s in live),
        errors=connect_fail + [f"{s.name}: {e}" for s in live for e in s.errors],
        fragment_runs=[s.fragment_runs for s in live],
        refresh_p50=percentile(lat, 50),
        refresh_p95=percentile(lat, 95),
        refresh_live_p95=percentile(lat_live, 95),
        step_gap_p50=percentile(gaps, 50),
        step_gap_p95=percentile(gaps, 95),
        new_step_p50=percentile(delays, 50),
        new_step_p95=percentile(delays, 95),
        new_step_count=len(delays),
        grids_seen=[len(s.grids) for s in live],
        grids_expected=sum(e for e, _ in grids),
        grids_missed=sum(m for _, m in grids),
        images=sum(s.images for s in live),
        image_mb=sum(s.image_bytes for s in live) / 1e6,
        image_retries=sum(s.retries for s in live),
        failed_alerts=sorted({t for s in live for k, t in s.alerts if k == "ERROR"}),
    )
    return ph


# ------------------------------------------------------------------ main


async def measure(base: str, root: Path, a: argparse.Namespace, server_pid: int | None) -> dict:
    """Start the job, run the phases, stop the job."""
    said = await start_job(base, a.steps)
    run_dir = await wait_running(root, a.start_timeout)
    config = runs.read_json(run_dir / runs.CONFIG) or {}
    batch = int(config["train"]["batch_size"])
    sample_every = int(config["train"]["sample_every"])
    st = runs.read_json(run_dir / runs.STATUS) or {}
    pid = job_pid(run_dir)
    meter = Meter(run_dir, {"server": server_pid, "job": pid}, batch)
    out = {
        "started": said,
        "run": run_dir.name,
        "job": f"{config.get('preset')} on {config['data']['source']}, batch {batch}, "
        f"sample_every {sample_every}, sample_min_s {config['train'].get('sample_min_s', 0)}, "
        f"{st.get('device')} {st.get('precision')}, "
        f"{st.get('threads')} torch thread(s)",
        "nice": {"server": niceness(server_pid), "job": niceness(pid), "loadgen": niceness()},
        "phases": [],
    }
    order = ["quiet"] + ["crowd", "quiet"] * a.rounds
    try:
        for kind in order:
            print(f"phase: {kind} ({a.seconds:.0f} s)…", flush=True)
            if kind == "quiet":
                ph = await quiet_phase(meter, a.seconds)
            else:
                ph = await crowd_phase(base, meter, a.sessions, a.seconds)
            out["phases"].append(ph)
            if ph["status"] != runs.JobStatus.RUNNING:
                break
    finally:
        await stop_job(base)
        ended = runs.RunReader(run_dir)
        deadline = time.time() + 60
        while ended.status().get("status") in runs.LIVE and time.time() < deadline:
            await asyncio.sleep(0.2)
        out["end_status"] = ended.status().get("status")
    return out


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def verdict(r: dict) -> dict:
    """The targets' figures and whether each holds; 'broken' lists what must never happen."""
    quiet = [p for p in r["phases"] if p["viewers"] == 0]
    crowd = [p for p in r["phases"] if p["viewers"] > 0]
    broken = list(r.get("server_log_problems", []))
    if not crowd:
        return {"broken": broken + ["no phase with viewers completed"], "targets": {}}
    n = crowd[0]["viewers"]
    base_eps = _mean([p["examples_per_sec"] for p in quiet])
    base_cpu = _mean([p["cores"]["server"] for p in quiet if p["cores"].get("server") is not None])
    crowd_cpu = [p["cores"]["server"] for p in crowd if p["cores"].get("server") is not None]
    figures = {
        "throughput": _mean([p["examples_per_sec"] for p in crowd]) / base_eps,
        "cpu_per_viewer": (_mean(crowd_cpu) - base_cpu) / n if crowd_cpu else math.nan,
        "refresh_p95_s": max(p["refresh_p95"] for p in crowd),
        "new_step_p95_s": max(p["new_step_p95"] for p in crowd),
        "grids_missed": sum(p["grids_missed"] for p in crowd),
    }
    targets = {}
    for k, v in figures.items():
        at_least = k == "throughput"
        ok = (v >= TARGETS[k]) if at_least else (v <= TARGETS[k])
        targets[k] = {"value": v, "target": TARGETS[k], "ok": bool(ok and not math.isnan(v))}
    for p in crowd:
        if p["connected"] < p["viewers"] or p["saw_updates"] < p["viewers"]:
            broken.append(
                f"{p['connected']}/{p['viewers']} connected, {p['saw_updates']} saw the step move"
            )
        broken += p["errors"][:10] + p["failed_alerts"]
    broken += [
        f"the job was {p['status']} after a phase"
        for p in r["phases"]
        if p["status"] != runs.JobStatus.RUNNING
    ]
    return {"broken": broken, "targets": targets}


def report(r: dict) -> int:
    """Print the figures and the verdict; 0 all targets met, 1 a target missed, 2 broken."""
    print(f"job: {r['job']} ({r['run']}; start said: {'; '.join(r['started']) or 'nothing'})")
    print(
        f"machine: {r['machine']}; nice: server {r['nice']['server']}, job {r['nice']['job']}, "
        f"load generator {r['nice']['loadgen']}"
    )
    for p in r["phases"]:
        c = p["cores"]
        srv = "n/a" if c.get("server") is None else f"{c['server']:.2f}"
        print(
            f"  {p['viewers']:>3} viewers: {p['steps']} steps in {p['seconds']:.1f} s = "
            f"{p['examples_per_sec']:.0f} examples/sec ({p['examples_per_job_cpu_s']:.0f} per "
            f"CPU-second of the job); cores: server {srv}, job "
            f"{c.get('job') or 0:.2f}, load generator {c['loadgen']:.2f}; "
            f"load {p['load_1m']:.1f}"
        )
    for p in (p for p in r["phases"] if p["viewers"]):
        runs_ = p["fragment_runs"]
        print(
            f"  sessions: {p['connected']}/{p['viewers']} connected (opening took "
            f"{p['open_seconds']:.1f} s), {p['saw_updates']}/{p['viewers']} saw the step move; "
            f"fragment reruns per session {min(runs_, default=0)}-{max(runs_, default=0)}"
        )
        print(
            f"  fragment refresh (rerun request -> script finished): p50 {p['refresh_p50']:.2f} s,"
            f" p95 {p['refresh_p95']:.2f} s (live view alone p95 {p['refresh_live_p95']:.2f} s)"
        )
        print(
            f"  a step the job published (status.json) was shown after {p['new_step_p50']:.2f} s"
            f" (p50), {p['new_step_p95']:.2f} s (p95), over {p['new_step_count']} sightings; "
            f"sessions saw a new step every {p['step_gap_p50']:.2f} s (p50), "
            f"{p['step_gap_p95']:.2f} s (p95)"
        )
        print(
            f"  grids: each session saw {min(p['grids_seen'], default=0)}-"
            f"{max(p['grids_seen'], default=0)} distinct grids; {p['grids_missed']} of "
            f"{p['grids_expected']} written in the sessions' windows were missed; "
            f"{p['images']} images fetched ({p['image_mb']:.1f} MB, {p['image_retries']} retried)"
        )
        print(f"  errors seen by sessions: {len(p['errors'])}")
        for e in p["errors"][:10]:
            print(f"    {e}")
    print(f"server log lines with Traceback/Error/Exception: {len(r['server_log_problems'])}")
    for line in r["server_log_problems"][:10]:
        print(f"    {line}")
    v = verdict(r)
    r["verdict"] = v
    names = {
        "throughput": "trainer examples/sec watched vs unwatched",
        "cpu_per_viewer": "server CPU per viewer (cores)",
        "refresh_p95_s": "fragment refresh p95 (s)",
        "new_step_p95_s": "a new step shown within (p95, s)",
        "grids_missed": "grids the job wrote that a session missed",
    }
    for k, t in v["targets"].items():
        cmp = ">=" if k == "throughput" else "<="
        val = f"{t['value']:.1%}" if k in ("throughput", "cpu_per_viewer") else f"{t['value']:.2f}"
        val = f"{t['value']:.0f}" if k == "grids_missed" else val
        goal = f"{t['target']:.0%}" if k in ("throughput", "cpu_per_viewer") else t["target"]
        print(f"  {'ok  ' if t['ok'] else 'MISS'} {names[k]}: {val} (target {cmp} {goal})")
    return verdict_line(v["broken"], all(t["ok"] for t in v["targets"].values()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m loadtest.streamlit_sessions", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sessions", type=int, default=30, help="viewers at once (1 to 200)")
    p.add_argument("--seconds", type=float, default=60, help="length of each phase (5 to 600)")
    p.add_argument("--rounds", type=int, default=1, help="crowd+quiet pairs after the first quiet")
    p.add_argument("--steps", type=int, default=1_000_000, help="the job's step budget")
    p.add_argument("--url", help="a running app (default: start one on a free port)")
    p.add_argument("--runs-dir", help="with --url: that server's DCGAN_RUNS_DIR")
    p.add_argument("--server-pid", type=int, help="with --url: its pid, to measure its CPU")
    p.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the server and its job")
    p.add_argument(
        "--no-nice", dest="nice", action="store_false", help="keep the load generator at nice 0"
    )
    p.add_argument("--start-timeout", type=float, default=300)
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args(argv)
    if not 1 <= a.sessions <= 200 or not 5 <= a.seconds <= 600 or not 1 <= a.rounds <= 5:
        p.error("--sessions must be 1-200, --seconds 5-600 and --rounds 1-5")
    if a.url and not a.runs_dir:
        p.error("--url needs --runs-dir: the job's progress is read from its run folder")
    note_before = load_note()
    budget = a.seconds * (2 * a.rounds + 1) * 2 + a.start_timeout + 600

    def run(base: str, root: Path, pid: int | None) -> dict:
        if a.nice:  # after the server started: it and the job it spawns keep their priority
            os.nice(19)
        return asyncio.run(asyncio.wait_for(measure(base, root, a, pid), timeout=budget))

    if a.url:
        r = run(a.url.rstrip("/"), Path(a.runs_dir), a.server_pid)
        r["server_log_problems"] = []
    else:
        with tempfile.TemporaryDirectory(prefix="dcgan-load-") as tmp:
            with streamlit_app(Path(tmp), a.omp_threads, Path(tmp) / "data") as app:
                base, root, proc, log = app
                r = run(base, root, proc.pid)
            r["server_log_problems"] = log_problems(log)
    r["machine"] = f"{note_before} at the start, {load_note()} at the end"
    code = report(r)
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())

"""A class exploring: N students move sliders on the latent pages of one Streamlit server.

    python -m loadtest.explorers --students 30 [--seconds 60] [--train] [--json FILE]

Starts `streamlit run app.py` on 127.0.0.1 (unless --url points at a running one), with the
shipped generators (the Latent page opens on the anime-faces one), then lowers its own
priority to nice 19 so the load it makes competes after the server, never before it.

1. Warm-up: one session opens each page once and scores one arithmetic expression, as a
   teacher does before the lesson (what a first visit costs is reported, not judged).
2. Explore: N students open their page (a seeded mix: MIX below) within the first 2 s, then
   each makes a move every 1-3 s (seeded): a slider, a seed, a group, a tab, a Score press.
   A move is one rerun, carrying the widget's new value as a browser sends it (the fragment
   it lives in, if any). It is timed from the send to script_finished, and to the last image
   that run sent being fetched (what the student waits for before the picture changes).
3. With --train, first a job trains on the Train page (the classroom preset on the shapes,
   started through its widgets): --seconds with no students, then the students explore for
   --seconds, then --seconds with none again. The trainer's examples/sec while the class
   explores is compared with the mean of the quiet brackets.

Each student is a websocket client speaking Streamlit's protocol (loadtest.protocol), so it
costs the server what a browser tab costs it.

The verdict (exit 0 all targets met, 1 a target missed, 2 something broke):
  - response p95 (send -> last image fetched) <= 0.15 s for 1 student, <= 0.5 s for more,
    and <= 1 s while a job trains;
  - the trainer keeps >= 80 % of its unwatched examples/sec while the class explores;
  - 0 errors: every student connected, every move finished, no exception on a page, no
    Traceback in the server log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import cpu_seconds, load_note, log_problems, percentile, streamlit_app, verdict_line
from .protocol import Session, widget_state

MIX = (("latent", 0.6), ("gan_basics", 0.25), ("arithmetic", 0.15))  # where the class goes
TABS = ("Interpolation", "Vector arithmetic", "Random walk")  # the Latent page's tabs
EXAMPLES = ("red square - red + blue", "blue circle - blue + yellow")  # arithmetic page's own
TARGETS = {"p95_one_s": 0.15, "p95_class_s": 0.5, "p95_training_s": 1.0, "throughput": 0.80}


def _seed(rng: random.Random) -> float:
    """A seed as students pick them: mostly small numbers, stepped with the +/- buttons."""
    return float(rng.choice((0, 1, 2, 3, 4, 5, 7, 10, 42, rng.randrange(100))))


def _frac(lo: int, hi: int, div: float):
    """A slider value lo/div .. hi/div, as a one-element double array."""
    return lambda r: [r.randint(lo, hi) / div]


def _of(*options):
    """One of the options: a string list for select_slider/multiselect, a double array else."""
    if isinstance(options[0], str):
        return lambda r: [r.choice(options)]
    return lambda r: [float(r.choice(options))]


def _group(r: random.Random) -> list[str]:
    """Three picks from the first 16 samples of the arithmetic grid."""
    return [str(i) for i in r.sample(range(16), 3)]


# page -> tab (or "") -> [(weight, widget label, value kind, value maker)]
ARRAY, NUMBER, STRINGS = "double_array_value", "double_value", "string_array_value"
MOVES = {
    "latent": {
        "Interpolation": [
            (5, "t (position between A and B)", ARRAY, _frac(0, 100, 100)),
            (2, "Seed A", NUMBER, _seed),
            (2, "Seed B", NUMBER, _seed),
            (1, "Images in the strip", ARRAY, _of(*range(3, 17))),
        ],
        "Vector arithmetic": [
            (2, "Grid seed", NUMBER, _seed),
            (3, "coefficient of A", ARRAY, _frac(-20, 20, 10)),
            (2, "coefficient of C", ARRAY, _frac(-20, 20, 10)),
            (2, "noise around the result", ARRAY, _frac(0, 20, 20)),
            (1, "Group A", STRINGS, _group),
        ],
        "Random walk": [
            (2, "Seed", NUMBER, _seed),
            (1, "Frames", ARRAY, _of(*range(16, 97, 8))),
            (1, "Walkers side by side", ARRAY, _of(*range(1, 7))),
            (1, "Milliseconds per frame", ARRAY, _of(*range(40, 401, 20))),
        ],
    },
    "gan_basics": {
        "": [
            (2, "Epochs", ARRAY, _of(*range(1, 61))),
            (1, "D's learning rate", STRINGS, _of("0.01", "0.02", "0.05", "0.1")),
            (1, "G's learning rate", STRINGS, _of("0.002", "0.005", "0.01")),
            (2, "Seed", NUMBER, _seed),
        ],
    },
    "arithmetic": {
        "": [
            (2, "Seed", NUMBER, lambda r: float(r.randint(0, 3))),
            (1, "A − B + C", "string_value", lambda r: r.choice(EXAMPLES)),
        ],
    },
}
PRESS = {"arithmetic": "Score it"}  # a page whose moves take effect when this is pressed


@dataclass
class Move:
    """One timed move: what changed, and how long until the page and its images were back."""

    page: str
    what: str
    finished_s: float  # send -> script_finished
    images_s: float  # send -> the last image of that run fetched
    images: int  # images the run sent that this session had not fetched before
    fragment: bool  # the rerun was one fragment's, not the whole page's


@dataclass
class Student(Session):
    """A session that explores one page: a move every 1-3 s, each timed."""

    rng: random.Random = field(default_factory=random.Random)
    tab: str = ""
    moves: list[Move] = field(default_factory=list)

    def pick(self) -> tuple[str, str, object]:
        """The next move: (widget label, value kind, value), among the widgets in view."""
        tabs = MOVES[self.page]
        if self.page == "latent":
            self.tab = self.tab or TABS[0]
            if self.rng.random() < 0.1:  # now and then a student opens another tab
                return "(tabs)", "string_value", self.rng.choice([t for t in TABS if t != self.tab])
        options = [m for m in tabs[self.tab] if m[1] in self.widgets]
        if not options:
            raise KeyError(
                f"none of the {self.page} page's widgets is on it: {sorted(self.widgets)}"
            )
        _, label, kind, make = self.rng.choices(options, weights=[m[0] for m in options])[0]
        return label, kind, make(self.rng)

    async def move(self, timeout: float = 60) -> None:
        """Make one move and time it to script_finished and to its last image fetched."""
        label, kind, value = self.pick()
        if label == "(tabs)":
            self.tab = value
            if "(tabs)" not in self.widgets:
                return  # tabs without state switch in the browser alone: no request
        states = [widget_state(self.widgets[label][1], **{kind: value})]
        if self.page in PRESS:
            states.append(widget_state(self.widget(PRESS[self.page]), trigger_value=True))
        fragment = "" if self.page in PRESS else self.fragments.get(label, "")
        t0 = time.perf_counter()
        await self.rerun(states, fragment=fragment, auto=False)
        await self.wait_finished(timeout)
        finished = time.perf_counter() - t0
        await self.wait_images(timeout)
        fetched = len(self.run_fetches)
        self.moves.append(
            Move(self.page, label, finished, time.perf_counter() - t0, fetched, bool(fragment))
        )

    async def explore(self, until: float) -> None:
        """Move every 1-3 s until `until`, counting from the end of the last move."""
        due: dict[str, float] = {}
        while time.time() < until and not any(e.startswith("websocket") for e in self.errors):
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))
            if time.time() >= until:
                break
            # the page's run_every timers (the sidebar's status) fire as in a browser
            for fid, interval in list(self.autos.items()):
                if time.time() >= due.setdefault(fid, time.time() + interval):
                    await self.rerun(fragment=fid)
                    await self.wait_finished(timeout=60)
                    due[fid] = time.time() + interval
            try:
                await self.move()
            except KeyError as e:
                self.errors.append(str(e))
                return


def students(base: str, n: int, seed: int, page: str | None = None) -> list[Student]:
    """n students, spread over the pages in MIX's proportions (the first on the Latent page),
    or all on `page`, each with its own seeded randomness."""
    pages = [page] * n if page else []
    if not page:
        for name, share in MIX:
            pages += [name] * round(share * n)
        pages = (pages + [MIX[0][0]] * n)[:n]
    return [
        Student(base, p, name=f"student-{i}", rng=random.Random(seed * 1000 + i))
        for i, p in enumerate(pages)
    ]


async def warm_up(base: str) -> dict[str, float]:
    """Open each page once, and score once, as a teacher does before class: seconds each."""
    took = {}
    for page, _ in MIX:
        s = Student(base, page, name=f"warm-{page}", rng=random.Random(0))
        t0 = time.perf_counter()
        await s.open(timeout=300)
        if page in PRESS:
            await s.rerun([widget_state(s.widget(PRESS[page]), trigger_value=True)])
            await s.wait_finished(300)
        took[page] = time.perf_counter() - t0
        await s.close()
        if s.errors:
            raise RuntimeError(f"warm-up of the {page} page failed: {s.errors[:3]}")
    return took


async def explore_phase(base: str, a: argparse.Namespace, pid: int | None) -> dict:
    """a.students students open their pages within 2 s, then explore for a.seconds."""
    n, seconds = a.students, a.seconds
    crowd = students(base, n, a.seed, a.page)

    async def arrive(s: Student) -> None:
        await asyncio.sleep(s.rng.uniform(0, 2))
        await s.open()

    opened = await asyncio.gather(*(arrive(s) for s in crowd), return_exceptions=True)
    live = [s for s, r in zip(crowd, opened, strict=True) if not isinstance(r, BaseException)]
    errors = [
        f"{s.name}: {type(r).__name__}: {r}"
        for s, r in zip(crowd, opened, strict=True)
        if isinstance(r, BaseException)
    ]
    cpu0, t0 = cpu_seconds(pid), time.time()
    await asyncio.gather(*(s.explore(t0 + seconds) for s in live), return_exceptions=True)
    cpu1, t1 = cpu_seconds(pid), time.time()
    await asyncio.gather(*(s.close() for s in live), return_exceptions=True)
    moves = [m for s in live for m in s.moves]
    per_page = {}
    for page, _ in MIX:
        ms = [m for m in moves if m.page == page]
        per_page[page] = {
            "students": sum(s.page == page for s in crowd),
            "moves": len(ms),
            "finished_p95": percentile([m.finished_s for m in ms], 95),
            "images_p50": percentile([m.images_s for m in ms], 50),
            "images_p95": percentile([m.images_s for m in ms], 95),
        }
    server_cpu = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None
    return {
        "students": n,
        "connected": len(live),
        "seconds": t1 - t0,
        "moves": len(moves),
        "fragment_moves": sum(m.fragment for m in moves),
        "finished_p50": percentile([m.finished_s for m in moves], 50),
        "finished_p95": percentile([m.finished_s for m in moves], 95),
        "images_p50": percentile([m.images_s for m in moves], 50),
        "images_p95": percentile([m.images_s for m in moves], 95),
        "images_per_move": sum(m.images for m in moves) / max(1, len(moves)),
        "image_mb": sum(s.image_bytes for s in live) / 1e6,
        "server_cores": server_cpu / (t1 - t0) if server_cpu is not None else None,
        "server_cpu_ms_per_move": 1000 * server_cpu / len(moves) if server_cpu and moves else None,
        "per_page": per_page,
        "slowest": sorted(
            ({"page": m.page, "what": m.what, "s": round(m.images_s, 3)} for m in moves),
            key=lambda d: -d["s"],
        )[:8],
        "errors": errors + [f"{s.name}: {e}" for s in live for e in s.errors],
    }


async def measure(base: str, root: Path, a: argparse.Namespace, pid: int | None) -> dict:
    """Warm up, then the explore phase, bracketed by quiet phases of a training job (--train)."""
    out = {"warm_up_s": await warm_up(base), "phases": []}
    if not a.train:
        print(f"phase: {a.students} students explore ({a.seconds:.0f} s)…", flush=True)
        out["phases"].append(await explore_phase(base, a, pid))
        return out
    from dcgan import runs

    from .common import job_pid
    from .streamlit_sessions import Meter, quiet_phase, start_job, stop_job, wait_running

    out["started"] = await start_job(base, a.steps)
    run_dir = await wait_running(root, a.start_timeout)
    batch = int((runs.read_json(run_dir / runs.CONFIG) or {})["train"]["batch_size"])
    meter = Meter(run_dir, {"server": pid, "job": job_pid(run_dir)}, batch)
    try:
        for kind in ("quiet", "explore", "quiet"):
            print(f"phase: {kind} with a job training ({a.seconds:.0f} s)…", flush=True)
            if kind == "quiet":
                ph = await quiet_phase(meter, a.seconds)
            else:
                before = meter.read()
                ph = await explore_phase(base, a, pid)
                ph["job"] = meter.phase(before, meter.read(), a.students)
            out["phases"].append({"kind": kind, **ph})
    finally:
        await stop_job(base)
    return out


def verdict(r: dict, students_n: int) -> dict:
    """The targets' figures and whether each holds; 'broken' lists what must never happen."""
    explore = [p for p in r["phases"] if "images_p95" in p]
    broken = list(r.get("server_log_problems", []))
    targets = {}
    if not explore or not explore[0]["moves"]:
        return {"broken": broken + ["no move was timed"], "targets": targets}
    p = explore[0]
    broken += p["errors"][:10]
    if p["connected"] < p["students"]:
        broken.append(f"only {p['connected']} of {p['students']} students connected")
    if "job" in p:
        quiet = [q["examples_per_sec"] for q in r["phases"] if q.get("kind") == "quiet"]
        ratio = p["job"]["examples_per_sec"] / (sum(quiet) / len(quiet))
        targets["throughput"] = (ratio, TARGETS["throughput"], ratio >= TARGETS["throughput"])
        limit = TARGETS["p95_training_s"]
    else:
        limit = TARGETS["p95_one_s"] if students_n == 1 else TARGETS["p95_class_s"]
    targets["p95_s"] = (p["images_p95"], limit, p["images_p95"] <= limit)
    return {"broken": broken, "targets": targets}


def report(r: dict, a: argparse.Namespace) -> int:
    """Print the figures and the verdict; 0 all targets met, 1 a target missed, 2 broken."""
    print(f"machine: {r['machine']}; nice: load generator {os.nice(0)}")
    warm = ", ".join(f"{k} {v:.1f} s" for k, v in r["warm_up_s"].items())
    print(f"warm-up (first open of each page, one Score): {warm}")
    for p in r["phases"]:
        if "images_p95" not in p:
            print(f"  quiet: the job trained {p['examples_per_sec']:.0f} examples/sec")
            continue
        srv = p["server_cores"]
        print(
            f"  {p['connected']}/{p['students']} students, {p['moves']} moves in "
            f"{p['seconds']:.0f} s ({p['fragment_moves']} reran one fragment); server "
            f"{'n/a' if srv is None else f'{srv:.2f} cores'}, "
            f"{p['server_cpu_ms_per_move'] or float('nan'):.0f} ms of server CPU per move"
        )
        print(
            f"  response: to script_finished p50 {p['finished_p50']:.3f} s, p95 "
            f"{p['finished_p95']:.3f} s; to the last image fetched p50 {p['images_p50']:.3f} s, "
            f"p95 {p['images_p95']:.3f} s; {p['images_per_move']:.1f} new images per move "
            f"({p['image_mb']:.1f} MB in all)"
        )
        for page, q in p["per_page"].items():
            print(
                f"    {page}: {q['students']} students, {q['moves']} moves, to last image "
                f"p50 {q['images_p50']:.3f} s, p95 {q['images_p95']:.3f} s"
            )
        print(f"    slowest: {p['slowest'][:4]}")
        if "job" in p:
            print(f"  the job trained {p['job']['examples_per_sec']:.0f} examples/sec meanwhile")
        print(f"  errors: {len(p['errors'])}")
        for e in p["errors"][:10]:
            print(f"    {e}")
    v = verdict(r, a.students)
    r["verdict"] = v
    for k, (val, goal, ok) in v["targets"].items():
        shown = (
            f"{val:.1%} (target >= {goal:.0%})"
            if k == "throughput"
            else f"{val:.3f} s (target <= {goal} s)"
        )
        print(f"  {'ok  ' if ok else 'MISS'} {k}: {shown}")
    return verdict_line(v["broken"], all(t[2] for t in v["targets"].values()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m loadtest.explorers", description=__doc__.split("\n")[0]
    )
    p.add_argument("--students", type=int, default=30, help="students at once (1 to 200)")
    p.add_argument("--seconds", type=float, default=60, help="length of each phase (5 to 600)")
    p.add_argument("--seed", type=int, default=0, help="the class's randomness")
    p.add_argument("--page", choices=[m[0] for m in MIX], help="every student on this page")
    p.add_argument("--train", action="store_true", help="a job trains while the class explores")
    p.add_argument("--steps", type=int, default=1_000_000, help="with --train: the job's budget")
    p.add_argument("--url", help="a running app (default: start one on a free port)")
    p.add_argument("--runs-dir", help="with --url: that server's DCGAN_RUNS_DIR")
    p.add_argument("--server-pid", type=int, help="with --url: its pid, to measure its CPU")
    p.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the server and its job")
    p.add_argument("--isa", help="cap the server's oneDNN, e.g. AVX2: a laptop without bf16")
    p.add_argument("--start-timeout", type=float, default=300)
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args(argv)
    if not 1 <= a.students <= 200 or not 5 <= a.seconds <= 600:
        p.error("--students must be 1-200 and --seconds 5-600")
    if a.url and a.train and not a.runs_dir:
        p.error("--url with --train needs --runs-dir: the job's progress is read from it")
    note_before = load_note()
    budget = a.seconds * 4 + a.start_timeout + 900

    def run(base: str, root: Path, pid: int | None) -> dict:
        os.nice(19)  # after the server started: it and its job keep their priority
        return asyncio.run(asyncio.wait_for(measure(base, root, a, pid), timeout=budget))

    if a.url:
        r = run(a.url.rstrip("/"), Path(a.runs_dir or "."), a.server_pid)
        r["server_log_problems"] = []
    else:
        with tempfile.TemporaryDirectory(prefix="dcgan-explore-") as tmp:
            # the data folder is the usual one: it keeps the arithmetic page's classifier
            isa = {"ONEDNN_MAX_CPU_ISA": a.isa} if a.isa else {}
            with streamlit_app(Path(tmp), a.omp_threads, env=isa) as (base, root, proc, log):
                r = run(base, root, proc.pid)
            r["server_log_problems"] = log_problems(log)
    r["machine"] = f"{note_before} at the start, {load_note()} at the end"
    code = report(r, a)
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())

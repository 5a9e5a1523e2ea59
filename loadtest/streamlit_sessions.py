"""A classroom on the Train page: N Streamlit sessions watch one training job at once.

    python -m loadtest.streamlit_sessions --sessions 30 [--seconds 60] [--url URL]

Starts `streamlit run app.py` on 127.0.0.1 (unless --url points at a running one), starts a
long classroom-cpu job on the built-in shapes through the Train page's own widgets, then:

1. 0 viewers for --seconds: the trainer's examples/sec with nobody watching;
2. N viewers for --seconds: N sessions open the Train page at once and follow its live
   fragment (run_every=1 s) as a browser does, fetching every sample image;
3. 0 viewers again, to bracket drift from anything else running on the machine.

Each viewer is a websocket client speaking Streamlit's own protocol (the protobufs a browser
sends): it costs the server what a browser tab costs it, and no browser CPU on this machine.
Pass: every session connects, sees no exception, and sees the step counter move.
The job is stopped and the server shut down at the end; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

from .common import free_port, load_note, log_problems, percentile, python, server

PAGE = "train"
SWITCH = (
    "import sys; sys.setswitchinterval({}); sys.argv = ['streamlit'] + {!r}; "
    "from streamlit.web.cli import main; main()"
)


@dataclass
class Session:
    """One browser-like session: runs the page, follows its auto-rerun fragment, fetches images."""

    base: str  # http://127.0.0.1:PORT
    name: str = "viewer"
    fetch_images: bool = True
    metrics: dict[str, str] = field(default_factory=dict)
    widgets: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (kind, id)
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    errors: list[str] = field(default_factory=list)
    steps: list[tuple[float, int]] = field(default_factory=list)  # (time, step) as seen
    progress_text: str = ""
    run_latency: list[float] = field(default_factory=list)  # rerun sent -> script finished
    fragment_runs: int = 0
    images: int = 0
    image_bytes: int = 0
    retries: int = 0
    autos: dict[str, float] = field(default_factory=dict)  # fragment_id -> run_every seconds
    page_hash: str = ""

    def __post_init__(self):
        self._finished = asyncio.Event()
        self._sent_at = 0.0
        self._ws = None
        self._reader = None
        self._http: httpx.AsyncClient | None = None
        self._fetches: set[asyncio.Task] = set()
        self._cache: dict[str, ForwardMsg] = {}  # messages by hash, for ref_hash replies

    # -------------------------------------------------------------- protocol

    async def open(self, timeout: float = 120) -> None:
        """Connect and run the page once, as a browser opening the URL does."""
        ws_url = self.base.replace("http://", "ws://") + "/_stcore/stream"
        self._ws = await asyncio.wait_for(
            connect(
                ws_url,
                subprotocols=["streamlit"],
                origin=self.base,
                max_size=None,
                ping_interval=None,
                open_timeout=timeout,
            ),
            timeout,
        )
        self._http = httpx.AsyncClient(base_url=self.base, timeout=30)
        self._reader = asyncio.create_task(self._read())
        await self.rerun()
        await self.wait_finished(timeout)

    async def close(self) -> None:
        """Disconnect (a closed tab)."""
        for t in list(self._fetches):
            t.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._http is not None:
            await self._http.aclose()

    async def rerun(self, widgets: list[WidgetState] = (), fragment: str = "") -> None:
        """Ask for a script run (the whole page, or one fragment), with these widget values."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.page_name = PAGE
        cs.page_script_hash = self.page_hash
        cs.widget_states.widgets.extend(widgets)
        if fragment:
            cs.fragment_id = fragment
            cs.is_auto_rerun = True
        self._finished.clear()
        self._sent_at = time.perf_counter()
        await self._ws.send(msg.SerializeToString())

    async def wait_finished(self, timeout: float) -> None:
        """Wait for the run in flight to finish; a stall counts as an error."""
        try:
            await asyncio.wait_for(self._finished.wait(), timeout)
        except TimeoutError:
            self.errors.append(f"no script_finished within {timeout:.0f} s")

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                self._handle(msg)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a dropped connection is a failure the report must show
            self.errors.append(f"websocket: {type(e).__name__}: {e}")
            self._finished.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":  # "you have this one already": replay it from our cache
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self.errors.append(f"ref_hash {msg.ref_hash} for a message never received")
                return
            msg, kind = cached, cached.WhichOneof("type")
        elif msg.hash and len(self._cache) < 2000:
            self._cache[msg.hash] = msg
        if kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash  # the page itself, not app.py
        elif kind == "auto_rerun":
            self.autos[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            self.autos.clear()
        elif kind == "script_finished":
            self.run_latency.append(time.perf_counter() - self._sent_at)
            self._finished.set()
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.errors.append("script compilation exception")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element)

    def _element(self, el) -> None:
        kind = el.WhichOneof("type")
        if kind == "metric":
            self.metrics[el.metric.label] = el.metric.body
            if el.metric.label == "Step":
                m = re.match(r"([\d,]+)", el.metric.body)
                if m:
                    self.steps.append((time.time(), int(m.group(1).replace(",", ""))))
        elif kind == "exception":
            self.errors.append(
                f"exception on the page: {el.exception.type}: {el.exception.message}"
            )
        elif kind == "alert":
            fmt = Alert.Format.Name(el.alert.format)
            self.alerts.append((fmt, el.alert.body))
        elif kind == "progress":
            self.progress_text = el.progress.text
        elif kind in ("button", "radio", "number_input"):
            w = getattr(el, kind)
            self.widgets[w.label] = (kind, w.id)
        elif kind == "imgs" and self.fetch_images:
            for img in el.imgs.imgs:
                if img.url.startswith("/"):
                    t = asyncio.create_task(self._fetch(img.url))
                    self._fetches.add(t)
                    t.add_done_callback(self._fetches.discard)

    async def _fetch(self, url: str) -> None:
        try:
            try:
                r = await self._http.get(url)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # the server closed an idle keep-alive connection as we reused it: a browser
                # silently retries such a GET on a fresh connection, and so do we (once)
                self.retries += 1
                r = await self._http.get(url)
            if r.status_code == 200:
                self.images += 1
                self.image_bytes += len(r.content)
            else:
                self.errors.append(f"image {url}: HTTP {r.status_code}")
        except httpx.HTTPError as e:
            self.errors.append(f"image {url}: {type(e).__name__}")

    # -------------------------------------------------------------- behaviour

    async def watch(self, until: float) -> None:
        """Follow the page's run_every fragments until `until`, as the browser's timers do.

        Like the browser, a session sends a fragment's next rerun `interval` seconds after
        the previous one finished, so a slow server slows its own polling down.
        """
        due: dict[str, float] = {}
        while time.time() < until and not any(e.startswith("websocket") for e in self.errors):
            if not self.autos:
                await asyncio.sleep(0.2)
                continue
            now = time.time()
            for fid, interval in self.autos.items():
                due.setdefault(fid, now + interval)
            fid = min(due, key=due.get)
            await asyncio.sleep(max(0.0, min(due[fid], until) - time.time()))
            if time.time() >= until:
                break
            await self.rerun(fragment=fid)
            await self.wait_finished(timeout=60)
            self.fragment_runs += 1
            due[fid] = time.time() + self.autos.get(fid, 1.0)

    def widget(self, label: str) -> str:
        """The id of the widget with this label (KeyError names what was found)."""
        for lab, (_, wid) in self.widgets.items():
            if lab == label:
                return wid
        raise KeyError(f"no widget {label!r} on the page; found {sorted(self.widgets)}")


# ------------------------------------------------------------------ the job


def _state(wid: str, **value) -> WidgetState:
    w = WidgetState(id=wid)
    for k, v in value.items():
        setattr(w, k, v)
    return w


async def start_job(base: str, steps: int) -> list[str]:
    """Start a classroom-cpu job on shapes for `steps` steps through the Train page's widgets."""
    s = Session(base, "driver", fetch_images=False)
    await s.open()
    unit = s.widget("Run for")
    await s.rerun([_state(unit, string_value="steps")])
    await s.wait_finished(120)
    length = s.widget("Number of steps")
    start = s.widget("Start")
    await s.rerun(
        [
            _state(unit, string_value="steps"),
            _state(length, double_value=float(steps)),
            _state(start, trigger_value=True),
        ]
    )
    await s.wait_finished(120)
    await s.close()
    said = [f"{k}: {t}" for k, t in s.alerts if k in ("SUCCESS", "WARNING", "ERROR")]
    return said + s.errors


async def stop_job(base: str) -> None:
    """Press Stop on the Train page."""
    s = Session(base, "driver", fetch_images=False)
    await s.open()
    await s.rerun([_state(s.widget("Stop"), trigger_value=True)])
    await s.wait_finished(120)
    await s.close()


async def read_job(base: str) -> tuple[float, int, str, str, str]:
    """(time, step, status, examples/sec text, progress text) from a short-lived session."""
    s = Session(base, "probe", fetch_images=False)
    await s.open()
    await s.close()
    step = s.steps[-1][1] if s.steps else -1
    return (
        time.time(),
        step,
        s.metrics.get("Status", "?"),
        s.metrics.get("Examples/sec", "?"),
        s.progress_text,
    )


async def wait_running(base: str, timeout: float) -> tuple[float, int, str, str, str]:
    """Poll until the job reports running with a step above 0."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = await read_job(base)
        if r[2] == "running" and r[1] > 0:
            return r
        if r[2] in ("failed", "finished", "stopped"):
            raise RuntimeError(f"the job is {r[2]} before the measurement began: {r}")
        await asyncio.sleep(2)
    raise RuntimeError(f"the job did not start running within {timeout:.0f} s")


async def quiet_phase(base: str, seconds: float) -> dict:
    """Nobody watching: step counts read at both ends by a short-lived session."""
    t0, s0, *_ = await read_job(base)
    await asyncio.sleep(seconds)
    t1, s1, status, *_ = await read_job(base)
    return {"viewers": 0, "seconds": t1 - t0, "steps": s1 - s0, "status": status}


async def crowd_phase(base: str, n: int, seconds: float) -> dict:
    """n sessions open the page at once and follow its live fragment for `seconds`."""
    t0, s0, *_ = await read_job(base)
    sessions = [Session(base, f"viewer-{i}") for i in range(n)]
    opened = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
    connect_fail = [
        f"{s.name}: {type(r).__name__}: {r}"
        for s, r in zip(sessions, opened, strict=True)
        if isinstance(r, BaseException)
    ]
    live = [s for s, r in zip(sessions, opened, strict=True) if not isinstance(r, BaseException)]
    until = t0 + seconds
    await asyncio.gather(*(s.watch(until) for s in live), return_exceptions=True)
    t1, s1, status, *_ = await read_job(base)
    await asyncio.gather(*(s.close() for s in live), return_exceptions=True)
    moved = [s for s in live if len({st for _, st in s.steps}) >= 2]
    errors = connect_fail + [f"{s.name}: {e}" for s in live for e in s.errors]
    lat = [x for s in live for x in s.run_latency[1:]]  # fragment reruns only
    return {
        "viewers": n,
        "seconds": t1 - t0,
        "steps": s1 - s0,
        "status": status,
        "connected": len(live),
        "saw_updates": len(moved),
        "errors": errors,
        "fragment_runs": [s.fragment_runs for s in live],
        "distinct_steps_seen": [len({st for _, st in s.steps}) for s in live],
        "images": sum(s.images for s in live),
        "image_mb": sum(s.image_bytes for s in live) / 1e6,
        "image_retries": sum(s.retries for s in live),
        "rerun_p50": percentile(lat, 50),
        "rerun_p95": percentile(lat, 95),
        "failed_alerts": sorted({t for s in live for k, t in s.alerts if k == "ERROR"}),
    }


# ------------------------------------------------------------------ main


def _ticks(stat: Path) -> int:
    """user + system clock ticks from a /proc stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def thread_cpu(pid: int | None) -> tuple[float, int, dict[int, int]]:
    """(time, process ticks, {thread id: ticks}) of a local server; zeros elsewhere.

    The process total counts threads that have exited too: Streamlit runs every rerun in a
    fresh thread, so summing the live threads would miss the viewers' work.
    """
    total, ticks = 0, {}
    if pid is not None:
        try:
            total = _ticks(Path(f"/proc/{pid}/stat"))
        except (OSError, IndexError, ValueError):
            pass
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                ticks[int(task.name)] = _ticks(task / "stat")
            except (OSError, IndexError, ValueError):
                pass
    return time.time(), total, ticks


def cpu_use(before, after, trainer: int | None) -> tuple[float, float, int | None]:
    """(server cores, trainer-thread cores, trainer tid) between two thread_cpu samples."""
    hz = os.sysconf("SC_CLK_TCK")
    dt = max(after[0] - before[0], 1e-9)
    delta = {t: after[2][t] - before[2].get(t, 0) for t in after[2] if t in before[2]}
    if not delta:
        return float("nan"), float("nan"), trainer
    if trainer is None:  # the busiest thread while nobody watches is the training thread
        trainer = max(delta, key=delta.get)
    return (after[1] - before[1]) / hz / dt, delta.get(trainer, 0) / hz / dt, trainer


async def measure(base: str, a: argparse.Namespace, pid: int | None = None) -> dict:
    said = await start_job(base, a.steps)
    first = await wait_running(base, a.start_timeout)
    batch = int(m.group(1)) if (m := re.search(r"batch (\d+)", first[4])) else 0
    out = {"started": said, "job": first[4], "batch": batch, "phases": []}
    order = ["quiet", "crowd", "quiet"] if a.bracket else ["quiet", "crowd"]
    trainer = None
    for kind in order:
        print(f"phase: {kind} ({a.seconds:.0f} s)…", flush=True)
        cpu0 = thread_cpu(pid)
        if kind == "quiet":
            ph = await quiet_phase(base, a.seconds)
        else:
            ph = await crowd_phase(base, a.sessions, a.seconds)
        ph["server_cores"], ph["trainer_cores"], trainer = cpu_use(cpu0, thread_cpu(pid), trainer)
        ph["examples_per_sec"] = ph["steps"] * batch / max(ph["seconds"], 1e-9)
        out["phases"].append(ph)
        if ph["status"] != "running":
            break
    await stop_job(base)
    return out


def report(r: dict, log_lines: list[str], note: str) -> int:
    """Print the figures; return 0 when every session connected, saw updates and no errors."""
    print(f"job: {r['job']}  (start said: {'; '.join(r['started']) or 'nothing'})")
    print(f"machine: {note}")
    quiet = [p for p in r["phases"] if p["viewers"] == 0]
    crowd = [p for p in r["phases"] if p["viewers"] > 0]
    for p in r["phases"]:
        print(
            f"  {p['viewers']:>3} viewers: {p['steps']} steps in {p['seconds']:.1f} s = "
            f"{p['examples_per_sec']:.0f} examples/sec (job {p['status']}); server process "
            f"used {p['server_cores']:.2f} cores, its training thread {p['trainer_cores']:.2f}"
        )
    ok = True
    if crowd:
        c = crowd[0]
        base = sum(p["examples_per_sec"] for p in quiet) / max(len(quiet), 1)
        drop = 100.0 * (1 - c["examples_per_sec"] / base) if base else float("nan")
        runs = c["fragment_runs"]
        print(
            f"sessions: {c['connected']}/{c['viewers']} connected, "
            f"{c['saw_updates']}/{c['viewers']} saw the step counter move"
        )
        print(
            f"  live-fragment reruns per session: min {min(runs, default=0)}, "
            f"max {max(runs, default=0)}; rerun latency p50 {c['rerun_p50']:.2f} s, "
            f"p95 {c['rerun_p95']:.2f} s; {c['images']} sample images fetched "
            f"({c['image_mb']:.1f} MB, {c['image_retries']} retried on a fresh connection)"
        )
        print(f"  errors seen by sessions: {len(c['errors'])}")
        for e in c["errors"][:10]:
            print(f"    {e}")
        if c["failed_alerts"]:
            print(f"  the job reported: {c['failed_alerts']}")
        print(
            f"throughput drop with {c['viewers']} viewers: {drop:.0f}% "
            f"({base:.0f} -> {c['examples_per_sec']:.0f} examples/sec)"
        )
        ok = (
            c["connected"] == c["viewers"]
            and c["saw_updates"] == c["viewers"]
            and not c["errors"]
            and not c["failed_alerts"]
        )
    print(f"server log lines with Traceback/Error/Exception: {len(log_lines)}")
    for line in log_lines[:10]:
        print(f"    {line}")
    ok = ok and not log_lines
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m loadtest.streamlit_sessions", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sessions", type=int, default=30, help="viewers at once (1 to 200)")
    p.add_argument("--seconds", type=float, default=60, help="length of each phase (5 to 600)")
    p.add_argument("--steps", type=int, default=1_000_000, help="the job's step budget")
    p.add_argument("--url", help="a running app (default: start one on a free port)")
    p.add_argument(
        "--no-bracket", dest="bracket", action="store_false", help="skip the second 0-viewer phase"
    )
    p.add_argument("--omp-threads", type=int, help="OMP_NUM_THREADS for the started server")
    p.add_argument(
        "--switch-interval",
        type=float,
        help="sys.setswitchinterval for the started server (Python's default is 0.005 s)",
    )
    p.add_argument("--start-timeout", type=float, default=300)
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args(argv)
    if not 1 <= a.sessions <= 200 or not 5 <= a.seconds <= 600:
        p.error("--sessions must be 1-200 and --seconds 5-600")
    note_before = load_note()

    def run(base: str, pid: int | None = None) -> dict:
        return asyncio.run(
            asyncio.wait_for(measure(base, a, pid), timeout=a.seconds * 4 + a.start_timeout + 600)
        )

    if a.url:
        r, lines = run(a.url.rstrip("/")), []
    else:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory(prefix="dcgan-load-") as tmp:
            log = Path(tmp) / "streamlit.log"
            env = {
                "DCGAN_RUNS_DIR": str(Path(tmp) / "runs"),
                "DCGAN_DATA_DIR": str(Path(tmp) / "data"),
            }
            if a.omp_threads:
                env["OMP_NUM_THREADS"] = str(a.omp_threads)
            args = ["run", "app.py", "--server.headless", "true"]
            args += ["--server.port", str(port), "--server.address", "127.0.0.1"]
            cmd = [python(), "-m", "streamlit", *args]
            if a.switch_interval:  # an experiment: how much of the slowdown is the GIL's?
                cmd = [python(), "-c", SWITCH.format(a.switch_interval, args)]
            with server(cmd, env, f"{base}/_stcore/health", log) as proc:
                r = run(base, proc.pid)
            lines = log_problems(log)
    note = f"{note_before} at the start, {load_note()} at the end"
    r["machine"] = note
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1, default=str))
    return report(r, lines, note)


if __name__ == "__main__":
    sys.exit(main())

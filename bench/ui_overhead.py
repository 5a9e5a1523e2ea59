"""What watching costs: the CLI's training throughput with the Train page open in a real browser.

    python -m bench.ui_overhead [--seconds 40] [--rounds 2] [--threads 1] [--json]
    python -m bench.ui_overhead --url http://127.0.0.1:8501 --runs-dir runs [--server-pid PID]

One run of `python -m dcgan.train --preset classroom-cpu --dataset shapes` (the preset and data
the Train page starts by default) writes its run folder under the runs folder of a
`streamlit run app.py` server (started here, or a running one given by --url), which
therefore shows it live on its Train page. While it trains, phases alternate, --seconds each:
nobody watching, then the Train page open in headless Chromium (Playwright, driving Debian's
/usr/bin/chromium: its live view reruns every second, its charts draw in the browser), then
nobody again (--rounds pairs). The trainer, the server and the browser keep nice 0, as on a
teacher's laptop; OMP_NUM_THREADS is set to --threads for the CLI (and the server started
here), so both phases train with the same thread count.

Examples/sec come from the run folder (status.json's step and the job's own clock), so the
measurement never touches the trainer. The overhead is 1 - (mean with the page open) / (mean
with nobody watching); target: at most 5 %. CPU of the trainer, the server and the browser
(every process of it) is reported per phase.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import ROOT, BenchError, load_avg, load_span, machine, parser, python, report
from loadtest.browser import CHROMIUM, CHROMIUM_ARGS
from loadtest.common import cpu_seconds, log_problems, run_progress, streamlit_app

TARGET = 0.05


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, grandchildren ...), from /proc."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def browser_cpu(exclude: set[int]) -> dict[int, float]:
    """{pid: CPU seconds} of this process's descendants other than the server and the trainer:
    the browser's processes (a tab's renderer comes and goes with the tab)."""
    skip = set(exclude)
    for p in exclude:
        skip.update(descendants(p))
    return {p: cpu_seconds(p) or 0.0 for p in descendants(os.getpid()) if p not in skip}


class Phases:
    """Reads the trainer's progress and each party's CPU at the ends of a phase."""

    def __init__(self, run_dir: Path, batch: int, trainer: int, server_pid: int | None):
        self.run_dir, self.batch, self.trainer, self.server = run_dir, batch, trainer, server_pid

    def read(self) -> dict:
        t_job, step = run_progress(self.run_dir)
        return {
            "t": time.time(),
            "t_job": t_job,
            "step": step,
            "trainer": cpu_seconds(self.trainer) or 0.0,
            "server": cpu_seconds(self.server) or 0.0,
            "browser": browser_cpu({self.trainer, self.server}),
        }

    def between(self, a: dict, b: dict, watched: bool, page_steps: list[str]) -> dict:
        dt = max(b["t"] - a["t"], 1e-9)
        return {
            "watched": watched,
            "seconds": dt,
            "steps": b["step"] - a["step"],
            "examples_per_sec": (b["step"] - a["step"])
            * self.batch
            / max(b["t_job"] - a["t_job"], 1e-9),
            "cores": {
                "trainer": (b["trainer"] - a["trainer"]) / dt,
                "server": (b["server"] - a["server"]) / dt,
                # per process, so a tab closed between phases takes its CPU with it
                "browser": sum(c - a["browser"].get(p, 0.0) for p, c in b["browser"].items()) / dt,
            },
            "examples_per_trainer_cpu_s": (b["step"] - a["step"])
            * self.batch
            / max(b["trainer"] - a["trainer"], 1e-9),
            "page_steps": page_steps,
            "load_1m": os.getloadavg()[0],
        }


def page_step(page, timeout_ms: int = 30_000) -> str:
    """The Step metric's value as the browser shows it, once it shows a number ('' if never)."""
    value = (
        page.locator('[data-testid="stMetric"]')
        .filter(has_text="Step")
        .first.locator('[data-testid="stMetricValue"]')
    )
    deadline = time.time() + timeout_ms / 1000
    while time.time() < deadline:
        try:
            text = value.inner_text(timeout=2000)
        except Exception:  # Playwright's TimeoutError: not drawn yet
            text = ""
        if any(ch.isdigit() for ch in text):
            return text
        time.sleep(0.2)
    return ""


def run(a: argparse.Namespace) -> dict:
    """Server up, CLI training, quiet / watched phases, CLI stopped."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise BenchError("playwright is not installed: pip install -r requirements-dev.txt") from e
    if not Path(CHROMIUM).exists():
        raise BenchError(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")

    before = load_avg()
    with tempfile.TemporaryDirectory(prefix="dcgan-ui-overhead-") as tmp:
        if a.url:  # someone else's server: the CLI's run folder goes (and stays) in its runs
            root = Path(a.runs_dir)
            root.mkdir(parents=True, exist_ok=True)
            run_dir = Path(tempfile.mkdtemp(prefix="ui-overhead-", dir=root))
            out = train_and_watch(
                a, sync_playwright, a.url.rstrip("/"), run_dir, a.server_pid, Path(tmp)
            )
            out["server_log_problems"] = []  # its log is its owner's to read
        else:  # the load tests' own server start, its runs under tmp
            with streamlit_app(Path(tmp), a.threads) as (base, root, srv, log):
                out = train_and_watch(a, sync_playwright, base, root / "cli", srv.pid, Path(tmp))
            out["server_log_problems"] = log_problems(log)
    quiet = [p["examples_per_sec"] for p in out["phases"] if not p["watched"]]
    watched = [p["examples_per_sec"] for p in out["phases"] if p["watched"]]
    mq, mw = sum(quiet) / len(quiet), sum(watched) / len(watched)
    per_cpu = [(p["watched"], p["examples_per_trainer_cpu_s"]) for p in out["phases"]]
    cq = sum(v for w, v in per_cpu if not w) / len(quiet)
    cw = sum(v for w, v in per_cpu if w) / len(watched)
    out.update(
        threads=a.threads,
        quiet_examples_per_sec=mq,
        watched_examples_per_sec=mw,
        overhead=1 - mw / mq,
        overhead_per_trainer_cpu_s=1 - cw / cq,
        target=TARGET,
        met=1 - mw / mq <= TARGET,
        load_avg_1m_before=before,
        machine=machine("cpu"),
    )
    return out


def train_and_watch(a, sync_playwright, base: str, run_dir: Path, server_pid, tmp: Path) -> dict:
    """The CLI trains into run_dir while the phases run against the server at base; stopped."""
    from dcgan import runs

    cli_cmd = [python(), "-m", "dcgan.train", "--preset", "classroom-cpu", "--dataset", "shapes"]
    cli_cmd += ["--steps", str(a.steps), "--out", str(run_dir)]
    cli_log = open(tmp / "cli.log", "w")  # noqa: SIM115 - closed below
    cli = subprocess.Popen(
        cli_cmd,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": str(a.threads)},
        stdout=cli_log,
        stderr=subprocess.STDOUT,
    )
    try:
        out = _measure(a, sync_playwright, base, run_dir, cli, server_pid)
    finally:
        runs.send_control(run_dir, "stop")
        try:
            cli.wait(60)
        except subprocess.TimeoutExpired:
            cli.kill()
            cli.wait(10)
        cli_log.close()
    out["cli_log_tail"] = (tmp / "cli.log").read_text(errors="replace")[-600:]
    out["cli"] = " ".join(cli_cmd[1:]).replace(str(run_dir), "RUNS/cli")
    return out


def _measure(a, sync_playwright, base: str, run_dir: Path, cli, server_pid: int | None) -> dict:
    from dcgan import runs

    deadline = time.time() + a.start_timeout
    while True:  # the CLI's first step, then a few seconds of warm-up
        st = runs.read_json(run_dir / runs.STATUS) or {}
        if st.get("status") == "running" and st.get("step", 0) >= 1:
            break
        if cli.poll() is not None or time.time() > deadline:
            raise BenchError(f"the CLI did not start training (exit {cli.poll()}); see its log")
        time.sleep(0.2)
    time.sleep(a.warmup)
    cfg = runs.read_json(run_dir / runs.CONFIG) or {}
    ph = Phases(run_dir, int(cfg["train"]["batch_size"]), cli.pid, server_pid)
    phases = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for watched in [False] + [True, False] * a.rounds:
                print(
                    f"phase: {'Train page open' if watched else 'nobody watching'} "
                    f"({a.seconds:.0f} s)…",
                    file=sys.stderr,
                    flush=True,
                )
                page, seen = None, []
                if watched:  # opened before the window: its first full page run is not counted
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(f"{base}/train", wait_until="domcontentloaded", timeout=120_000)
                    page.locator('[data-testid="stMetric"]').filter(has_text="Step").first.wait_for(
                        timeout=120_000
                    )
                    seen.append(page_step(page))
                t0 = ph.read()
                time.sleep(a.seconds)
                t1 = ph.read()
                if page is not None:
                    seen.append(page_step(page))
                    page.close()
                phases.append(ph.between(t0, t1, watched, seen))
                if cli.poll() is not None:
                    raise BenchError(f"the CLI ended during the measurement (exit {cli.poll()})")
        finally:
            browser.close()
    return {
        "phases": phases,
        "job": f"classroom-cpu on shapes, {st.get('device')} {st.get('precision')}",
    }


def summary(r: dict) -> str:
    """Human summary."""
    lines = [f"{r['cli']} with OMP_NUM_THREADS={r['threads']} ({r['job']}); {load_span(r)}"]
    for p in r["phases"]:
        c = p["cores"]
        what = "Train page open " if p["watched"] else "nobody watching"
        shown = f"; the page showed step {' -> '.join(p['page_steps'])}" if p["watched"] else ""
        lines.append(
            f"  {what}: {p['examples_per_sec']:6.0f} examples/sec "
            f"({p['examples_per_trainer_cpu_s']:.0f} per trainer CPU-second); cores: "
            f"trainer {c['trainer']:.2f}, server {c['server']:.2f}, browser {c['browser']:.2f}; "
            f"load {p['load_1m']:.1f}{shown}"
        )
    lines.append(
        f"watching costs the trainer {r['overhead']:+.1%} ({r['quiet_examples_per_sec']:.0f} -> "
        f"{r['watched_examples_per_sec']:.0f} examples/sec): "
        + ("met" if r["met"] else "MISSED")
        + f" (target at most {r['target']:.0%})"
    )
    lines.append(
        f"per CPU-second the trainer was given, watching costs it "
        f"{r['overhead_per_trainer_cpu_s']:+.1%} (the rest is CPU the browser and the server "
        "took from it on this machine)"
    )
    if r["server_log_problems"]:
        lines.append(f"server log problems: {r['server_log_problems'][:5]}")
    return "\n".join(lines)


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--seconds": dict(type=float, default=40, help="length of each phase"),
    "--rounds": dict(type=int, default=2, help="watched + quiet pairs after a quiet one"),
    "--threads": dict(type=int, default=1, help="OMP_NUM_THREADS for the CLI and server"),
    "--steps": dict(type=int, default=1_000_000, help="the CLI's --steps (it is stopped)"),
    "--warmup": dict(type=float, default=5, help="seconds trained before measuring"),
    "--start-timeout": dict(type=float, default=300),
    "--url": dict(help="a running app to watch (default: start one on a free port)"),
    "--runs-dir": dict(help="with --url: that server's DCGAN_RUNS_DIR, where the CLI writes"),
    "--server-pid": dict(type=int, help="with --url: its pid, to measure its CPU"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the phases and print a summary, or JSON with --json; exit 1 when the target is missed."""
    p = parser("bench.ui_overhead", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if not 1 <= a.rounds <= 5 or a.seconds < 3:
        p.error("--rounds must be 1-5 and --seconds at least 3")
    if a.url and not a.runs_dir:
        p.error("--url needs --runs-dir: the server shows the CLI's run from its runs folder")
    r = report(lambda: run(a), summary, a.json, (BenchError, subprocess.TimeoutExpired))
    if r is None:
        return 2
    return 0 if r["met"] and not r["server_log_problems"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""The load tests and the watching benches still run, tiny: 4 Space requests, 2 Streamlit
sessions watching, 3 exploring and one browser watching the CLI train (all on the suite's
running app), one start of a job.

They assert what the commands do (they ran, measured, reported, and nothing broke), never how
fast: the speed targets are judged by the full commands (docs/RELIABILITY.md, bench/README.md),
whose exit status 1 means "a target was missed" and 2 "something broke".
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.common import log_problems

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run(*args, timeout=420):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_space_burst_smoke():
    r = run("loadtest.space_requests", "--requests", "4", "--count", "4")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "4 requests at once: " in r.stdout and "p95" in r.stdout and "PASS" in r.stdout


def judged(tmp_path, *args) -> tuple[subprocess.CompletedProcess, dict]:
    """Run a load test that judges itself, with --json; it measured and nothing broke."""
    out = tmp_path / "report.json"
    r = run(*args, "--omp-threads", "1", "--json", str(out))
    said = r.stdout[-3000:] + r.stderr[-3000:]
    assert r.returncode in (0, 1), said  # 1: a speed target missed on a busy machine; 2: broken
    rep = json.loads(out.read_text())
    assert rep["verdict"]["broken"] == [], said
    assert ("PASS" in r.stdout) == (r.returncode == 0)
    return r, rep


def on_app(live_app) -> tuple[str, ...]:
    """The arguments that point a load test at the suite's running app (conftest.live_app)
    instead of a server of its own: one start fewer, and its data cache is the suite's; its
    pid, so the server's CPU is still measured."""
    srv = live_app
    return ("--url", srv.url, "--runs-dir", str(srv.runs), "--server-pid", str(srv.proc.pid))


def test_streamlit_sessions_smoke(tmp_path, live_app):
    args = ("--sessions", "2", "--seconds", "5", *on_app(live_app))
    r, rep = judged(tmp_path, "loadtest.streamlit_sessions", *args)
    assert [p["viewers"] for p in rep["phases"]] == [0, 2, 0]
    crowd = rep["phases"][1]
    assert crowd["connected"] == 2 and crowd["saw_updates"] == 2 and crowd["errors"] == []
    assert min(crowd["grids_seen"]) >= 1  # (missing none is a target: timing, not asserted)
    assert all(p["steps"] > 0 and p["examples_per_sec"] > 0 for p in rep["phases"])
    assert crowd["cores"]["server"] is not None and rep["nice"]["server"] == 0
    assert rep["nice"]["loadgen"] == 19 and rep["end_status"] == "stopped"
    for figure in ("trainer examples/sec watched", "server CPU per viewer", "fragment refresh"):
        assert figure in r.stdout


def test_explorers_smoke(tmp_path, live_app):
    args = ("--students", "3", "--seconds", "6", *on_app(live_app))
    r, rep = judged(tmp_path, "loadtest.explorers", *args)
    assert set(rep["warm_up_s"]) == {"latent", "gan_basics", "arithmetic"}  # each page opened
    p = rep["phases"][0]
    assert p["connected"] == 3 and p["errors"] == [] and p["moves"] >= 3
    assert p["per_page"]["latent"]["moves"] >= 1 and p["per_page"]["gan_basics"]["moves"] >= 1
    assert p["fragment_moves"] >= 1  # a Latent widget reran its tab alone
    assert p["server_cpu_ms_per_move"] is not None
    assert "to the last image fetched" in r.stdout


def test_start_time_smoke():
    # no warm-up start: the suite's data cache is warm, and each start is a fresh job process
    r = run("bench.start_time", "--repeats", "1", "--warmup", "0", "--timeout", "300", "--json")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    s = rep["starts"][0]
    assert 0 < s["child_status_s"] <= s["trainer_ready_s"] <= s["first_step_s"]
    assert rep["median"]["first_step_s"] == s["first_step_s"] and rep["threads"] >= 1
    assert rep["warmup"] == 0 and len(rep["starts"]) == 1


@pytest.mark.browser
def test_ui_overhead_smoke(live_app):
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        pytest.skip("no Chromium (apt-get install chromium)")
    log = live_app.tmp / "streamlit.log"
    before = log_problems(log)
    # its shortest phases (3 s) and no warm-up: the CLI trains a core's worth through all of it
    args = ("--seconds", "3", "--rounds", "1", "--warmup", "0", *on_app(live_app))
    r = run("bench.ui_overhead", *args, "--json")
    assert r.returncode in (0, 1), r.stdout[-3000:] + r.stderr[-3000:]
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert [p["watched"] for p in rep["phases"]] == [False, True, False]
    watched = rep["phases"][1]
    assert watched["page_steps"][0] and watched["page_steps"][-1]  # the browser drew the step
    assert watched["cores"]["browser"] > 0 and watched["cores"]["server"] > 0
    assert all(p["steps"] > 0 for p in rep["phases"])
    assert log_problems(log)[len(before) :] == []  # the server's log, which the bench leaves be

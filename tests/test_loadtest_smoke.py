"""The load tests' own commands still work, run tiny: 2 Streamlit sessions, 4 Space requests.

The full runs (30 sessions, 50 requests) take minutes and live outside `make test`; see
docs/RELIABILITY.md for their figures and commands.
"""

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_streamlit_sessions_smoke():
    r = run(
        "loadtest.streamlit_sessions",
        *("--sessions", "2", "--seconds", "12", "--no-bracket", "--omp-threads", "1"),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "2/2 saw the step counter move" in r.stdout and "examples/sec" in r.stdout

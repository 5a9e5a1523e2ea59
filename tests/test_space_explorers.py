"""The Space's explorers load test: a small class against a tiny generator, and its verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import space_explorers
from tests.helpers import tiny_generators

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("gradio_client")


def test_a_small_class_explores_and_the_verdict_matches_the_figures(tmp_path):
    """Two visitors explore for a second (at least one request each, then a look of 1-3 s):
    every request is answered, only the four exploring endpoints are called, and the exit code
    is the judged target's."""
    checkpoints = tiny_generators(tmp_path / "checkpoints")
    out = tmp_path / "explorers.json"
    r = subprocess.run(
        [sys.executable, "-m", "loadtest.space_requests", "--scenario", "explorers"]
        + ["--visitors", "2", "--seconds", "1", "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, "DCGAN_CHECKPOINTS": str(checkpoints), "DCGAN_SPACE_SPARE": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    s = json.loads(out.read_text())["summary"]
    assert s["requests"] >= 2 and s["errors"] == 0 and s["answered"] == s["requests"], r.stdout
    assert set(s["per_api"]) <= {"frame", "interp", "arithmetic", "pool"}
    assert s["target_p95_s"] == 0.5 and s["server_cpu_ms_per_request"] > 0
    assert r.returncode == (0 if s["pass"] else 1), r.stdout[-2000:]
    assert ("PASS" if s["pass"] else "FAIL") in r.stdout.splitlines()[-1]


def test_the_verdict_holds_the_targets():
    """p95 over the target, or any error, is a FAIL; 0.15 s alone, 0.5 s for a class."""

    def run(secs, kind="answered"):
        return {"results": [{"api": "frame", "kind": kind, "secs": x, "wait": 0.0} for x in secs]}

    fast, slow = [0.05] * 20, [0.05] * 18 + [0.4, 0.4]
    assert space_explorers.summary(run(fast), 1)["pass"]
    assert not space_explorers.summary(run(slow), 1)["pass"]  # p95 0.4 s > 0.15 s alone
    assert space_explorers.summary(run(slow), 30)["pass"]  # but within a class's 0.5 s
    broken = run(fast)
    broken["results"].append({"api": "frame", "kind": "error", "secs": 0.1, "wait": 0.0})
    assert not space_explorers.summary(broken, 30)["pass"]

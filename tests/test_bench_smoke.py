"""Tiny runs of every benchmark in bench/, so they keep working; no timing is asserted.

Each benchmark runs as a user runs it (python -m bench.X), on a tiny ImageFolder zip made
here, with step and repeat counts of one or two. What is checked is the shape of the answer:
the JSON fields the README's table is built from, and figures that are positive and consistent.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import BenchError, reference_script  # noqa: E402


def reference_or_skip() -> Path:
    try:
        return reference_script()
    except BenchError as e:
        pytest.skip(f"reference loop absent: {e}")


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory) -> Path:
    """24 shapes images in d2l's zip layout: one top folder of class folders."""
    from dcgan.data import make_shapes

    path = tmp_path_factory.mktemp("bench") / "tiny.zip"
    images = make_shapes(64, n=24).images
    with zipfile.ZipFile(path, "w") as zf:
        for i, im in enumerate(images):
            buf = io.BytesIO()
            Image.fromarray(im.permute(1, 2, 0).numpy()).save(buf, format="PNG")
            zf.writestr(f"tiny/{i % 2}/{i}.png", buf.getvalue())
    return path


def bench(*args, env=None, expect=0) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert r.returncode == expect, r.stdout[-2000:] + r.stderr[-2000:]
    return r


def test_train_throughput_against_the_reference(tiny_zip):
    reference_or_skip()
    r = bench(
        "bench.train_throughput",
        *("--device", "cpu", "--batch-size", "8", "--steps", "2", "--warmup", "1"),
        *("--rounds", "1", "--data", str(tiny_zip), "--json"),
    )
    out = json.loads(r.stdout)
    ref, eng = out["reference_examples_per_sec"], out["engine_examples_per_sec"]
    assert ref > 0 and eng > 0
    assert out["ratio"] == pytest.approx(eng / ref)
    assert out["precision"] in ("fp32", "bf16") and out["device"] == "cpu"
    assert out["batch_size"] == 8 and out["machine"]["torch"] == torch.__version__


def test_train_throughput_human_summary_engine_only(tiny_zip):
    r = bench(
        "bench.train_throughput",
        *("--batch-size", "8", "--steps", "1", "--warmup", "0", "--rounds", "1"),
        *("--data", str(tiny_zip), "--engine-only"),
    )
    assert "engine:" in r.stdout and "examples/sec" in r.stdout


def test_missing_reference_is_a_clear_message(tiny_zip, tmp_path):
    r = bench(
        "bench.train_throughput",
        *("--data", str(tiny_zip), "--steps", "1"),
        env={"DCGAN_BENCH_REFERENCE": str(tmp_path / "nope.py")},
        expect=2,
    )
    assert "reference loop is not at" in r.stderr and "--engine-only" in r.stderr
    assert "Traceback" not in r.stderr


def test_generate_latency_reports_the_three_medians():
    # one thread: under `pytest -n 2` on two cores, a second spinning thread fights the other
    # worker for its core and the run takes 3x as long
    r = bench(
        "bench.generate_latency",
        *("--threads", "1", "--repeats", "1", "--warmup", "0", "--ablation", "--json"),
    )
    out = json.loads(r.stdout)
    for key in ("single_ms", "grid64_ms", "interp32_ms"):
        assert out[key] > 0 and out["d2l"][key] > 0
    assert out["threads"] == 1 and out["image_size"] == 64
    for rows in out["ablation"].values():
        by_name = {row["variant"]: row for row in rows}
        # the fp32 tricks change nothing a viewer could see; bf16 stays within a grey level
        assert by_name["fp32 BN folded"]["max_abs_diff"] < 1e-4
        assert by_name["fp32 channels_last"]["max_abs_diff"] < 1e-4
        assert by_name["bf16 autocast"]["max_abs_diff"] < 2 / 255 * 4


def test_ablation_runs_each_variant(tiny_zip):
    r = bench(
        "bench.ablation",
        *("--batch-size", "8", "--steps", "1", "--warmup", "0", "--rounds", "1"),
        *("--only", "shipped", "no G(z) reuse", "--data", str(tiny_zip)),
        *("--data-batches", "1", "--json"),
    )
    out = json.loads(r.stdout)
    assert [row["variant"] for row in out["train"]] == ["shipped", "no G(z) reuse"]
    assert all(row["examples_per_sec"] > 0 for row in out["train"])
    assert out["train"][0]["vs_shipped"] == 0
    assert len(out["data"]) == 4 and all(row["ms_per_batch"] > 0 for row in out["data"])


def test_precision_quality_compares_both_precisions():
    r = bench(
        "bench.precision_quality",
        *("--steps", "2", "--seeds", "1", "--n", "16", "--last", "2", "--json"),
    )
    out = json.loads(r.stdout)
    assert {row["precision"] for row in out["runs"]} <= {"fp32", "bf16"}
    assert len(out["runs"]) == 2
    assert out["mean"]["fp32"]["swd"] > 0 and out["swd_floor_real_vs_real"] >= 0


def test_classroom_reports_start_time_and_swd_at_each_moment(tmp_path):
    r = bench(
        "bench.classroom",
        *("--dataset", "shapes", "--at", "1", "2", "--n", "16", "--out", str(tmp_path), "--json"),
    )
    out = json.loads(r.stdout)
    assert out["start_s"] > 0 and [row["seconds"] for row in out["at"]] == [1, 2]
    assert all(row["step"] >= 1 and row["swd"] > 0 for row in out["at"])
    assert out["at"][1]["step"] >= out["at"][0]["step"]
    assert (tmp_path / "classroom_1s.png").stat().st_size > 0

"""The engine: D learns, resume is exact, and the CLI trains, samples and refuses bad input."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from dcgan import checkpoint as ckpt
from dcgan.config import ConfigError
from dcgan.data import make_shapes
from dcgan.trainer import Trainer
from tests.helpers import TRAIN_ONE_STEP, full_and_resumed, small_cfg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shapes32():
    return make_shapes(32, n=512)


def test_discriminator_learns_on_shapes(shapes32):
    tr = Trainer(small_cfg(), shapes32)
    tr.run(40)
    h = tr.history.columns
    gap_start = h["D_x"][0] - h["D_G_z1"][0]
    gap_end = sum(h["D_x"][-10:]) / 10 - sum(h["D_G_z1"][-10:]) / 10
    assert abs(gap_start) < 0.15, "an untrained D cannot tell real from fake"
    assert gap_end > gap_start + 0.2, "after training D separates real from fake"
    assert len(h["loss_D"]) == 40 and tr.history.step[-1] == 40
    assert all(v > 0 for v in h["grad_norm_G"]) and h["examples_per_sec"][-1] > 0


def test_timeline_records_fixed_noise_grids(shapes32):
    tr = Trainer(small_cfg(), shapes32)
    tr.run(20)
    steps = [s for s, _ in tr.timeline]
    assert steps == [1, 10, 20]
    assert tr.timeline[0][1].shape == tr.timeline[-1][1].shape
    assert (tr.timeline[0][1] != tr.timeline[-1][1]).any()


def test_grids_of_a_fast_run_are_paced_by_time_so_viewers_can_see_each(shapes32, monkeypatch):
    clock = [0.0]  # a fake monotonic clock: every step takes 0.1 s
    monkeypatch.setattr("dcgan.trainer.time.monotonic", lambda: clock[0])
    tr = Trainer(small_cfg(**{"train.sample_min_s": 2.5}), shapes32)
    tr.add_callback("on_step", lambda _: clock.__setitem__(0, clock[0] + 0.1))
    tr.run(60)
    # step 1 always; then every 10th step that is at least 2.5 s (25 steps) after the last
    assert [s for s, _ in tr.timeline] == [1, 30, 60]
    with pytest.raises(ConfigError, match="sample_min_s"):
        small_cfg(**{"train.sample_min_s": -1.0}).validate()


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_resume_matches_uninterrupted_run(shapes32, tmp_path, precision):
    cfg = small_cfg(**{"train.precision": precision, "data.flip": True})
    # 512 images / 32 = 16 steps per epoch: 24 steps crosses an epoch, split at 11
    full, second = full_and_resumed(cfg, shapes32, tmp_path, steps=24, split=11)
    assert second.history.columns["loss_D"] == full.history.columns["loss_D"]
    assert second.history.columns["loss_G"] == full.history.columns["loss_G"]
    for a, b in zip(full.G.state_dict().values(), second.G.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_batch_larger_than_dataset_is_refused(shapes32):
    with pytest.raises(ConfigError, match="batch_size=1024 is larger than the dataset"):
        Trainer(small_cfg(**{"train.batch_size": 1024}), shapes32)


def test_image_size_mismatch_is_refused(shapes32):
    with pytest.raises(ConfigError, match="image_size=64"):
        Trainer(small_cfg(**{"model.image_size": 64}), shapes32)


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_cli_trains_then_samples(tmp_path):
    out = tmp_path / "run"
    r = cli(
        "dcgan.train",
        "--preset",
        "classroom-cpu",
        "--dataset",
        "shapes",
        "--epochs",
        "1",
        "--limit",
        "256",
        "--batch-size",
        "32",
        "--out",
        str(out),
        "--export",
        "--export-every",
        "4",
        "--tensorboard",
    )
    assert r.returncode == 0, r.stderr
    # the shipped generators' recipe: an export every N steps, the last one the final file
    exports = sorted(p.name for p in (out / "exports").iterdir())
    assert exports == [f"step-000000{s}{raw}.safetensors" for s in (4, 8) for raw in ("-raw", "")]
    final = load_file(str(out / "generator.safetensors"))
    last = load_file(str(out / "exports" / "step-0000008.safetensors"))
    assert all(torch.equal(final[k], last[k]) for k in final)
    meta = ckpt.read_metadata(out / "exports" / "step-0000008.safetensors")
    assert meta["step"] == "8" and meta["batchnorm"].startswith("recalibrated")
    assert meta["command"].startswith("python -m dcgan.train ")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tb")).Reload()
    assert len(events.Scalars("loss_D")) == 8  # 256 images / batch 32, one point per step
    assert events.Images("samples"), "the sample grids are on TensorBoard's Images tab"
    assert "epoch 1: loss_D" in r.stdout and "examples/sec" in r.stdout
    from dcgan.sample import main as sample

    for src in (out / "last.pt", out / "generator.safetensors"):  # in-process: no second torch
        grid = tmp_path / f"{src.stem}.png"
        args = ["--checkpoint", str(src), "--n", "16", "--seed", "0", "--out", str(grid)]
        assert sample(args) == 0
        assert Image.open(grid).size[0] > 64  # a grid of several 32x32 images


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "0"], "train.lr=0.0"),
        (["--batch-size", "999999"], "larger than the dataset"),
        (["--image-size", "48"], "image_size=48"),
        (["--dataset", "nope"], "unknown dataset"),
    ],
)
def test_cli_bad_input_is_a_clear_message(args, message, tmp_path, capsys):
    from dcgan.train import main

    # in-process (test_cli_trains_then_samples runs the real command): any traceback a user
    # would see is an exception here, which fails the test
    dataset = ["--dataset", "shapes"] if "--dataset" not in args else []
    assert main([*TRAIN_ONE_STEP[1:], "--out", str(tmp_path), *dataset, *args]) == 2
    assert message in capsys.readouterr().err

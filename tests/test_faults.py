"""Faults: a checkpoint writer killed mid-save, NaN/inf, out-of-memory and crashes in a job.

What a user relies on: a trained model is never lost (the previous checkpoint always loads),
a failing job stops with a message that says what to do, the process around it lives on, and
pause/stop answer within one step, even while the dataset is still loading.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import torch

from dcgan import checkpoint as ckpt
from dcgan import data
from dcgan.config import preset
from dcgan.data import make_shapes
from dcgan.train import JobSlot, TrainingJob

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on a busy 2-core machine, two OpenMP threads spin-wait on each
    other and a step takes 10-30x longer. Behaviour is the same; only the wait shrinks."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes32():
    return make_shapes(32, n=256)


def small_cfg(**over):
    return (
        preset("classroom-cpu")
        .replace(
            **{
                "model.ngf": 8,
                "model.ndf": 8,
                "train.batch_size": 32,
                "train.sample_every": 10,
                "train.n_samples": 16,
                "train.log_every": 5,
                **over,
            }
        )
        .validate()
    )


def wait_for(pred, timeout=60.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


# ------------------------------------------------------------------ atomic checkpoint writes

WRITER = textwrap.dedent(
    """
    import sys, torch
    from dcgan import checkpoint as ckpt
    from dcgan.config import preset
    from dcgan.models import Generator

    cfg = preset("classroom-cpu").replace(**{"model.ngf": 8, "model.ndf": 8})
    G = Generator(cfg.model).state_dict()
    path = sys.argv[1]
    for step in range(1, 10_000):
        # ~48 MB per save, so a kill has a wide window to land inside a write
        ckpt.save({"config": cfg.to_dict(), "G": G, "step": step,
                   "pad": torch.full((12_000_000,), float(step))}, path)
        print(step, flush=True)
    """
)


def test_sigkill_mid_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "last.pt"
    caught_mid_write = 0
    for _attempt in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            first = proc.stdout.readline()  # one complete save exists
            assert first.strip(), "writer died before its first save"
            # kill as soon as the next save's temp file has bytes in it: mid-write
            tmp = None
            deadline = time.time() + 60
            while tmp is None and time.time() < deadline:
                tmp = next(
                    (p for p in tmp_path.glob(".last.pt.*.tmp") if p.stat().st_size > 0), None
                )
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(30)
            done = [int(x) for x in proc.stdout.read().split()] + [int(first)]
        if tmp is not None and tmp.exists():
            caught_mid_write += 1
        state = ckpt.load(path)  # never a torn file
        step = state["step"]
        assert step >= max(done), "the last completed save survives"
        assert float(state["pad"][0]) == float(state["pad"][-1]) == step, "not a mix of saves"
        for stray in tmp_path.glob(".last.pt.*.tmp"):
            stray.unlink()
        if caught_mid_write >= 2:
            break
    assert caught_mid_write >= 2, "the kill never landed inside a write; the test proved nothing"


# ------------------------------------------------------------------ NaN / inf


def _poison(value, at_step, where="G"):
    def fault(tr):
        if tr.step_num == at_step:
            net = tr.G if where == "G" else tr.D
            with torch.no_grad():
                next(net.parameters()).fill_(value)

    return fault


@pytest.mark.parametrize("value, where", [(float("inf"), "G"), (float("-inf"), "D")])
def test_nonfinite_stops_the_job_and_keeps_the_last_good_checkpoint(
    shapes32, tmp_path, value, where
):
    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 10})
    job = TrainingJob(cfg, data=shapes32, out_dir=tmp_path, fault=_poison(value, 23, where))
    job.start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert "NaN/inf" in snap.error and "lower learning rate" in snap.error
    assert str(tmp_path / "last.pt") in snap.error, "the message says where the good one is"
    good = ckpt.load(tmp_path / "last.pt")
    assert good["step"] == 20
    for part in ("G", "D"):
        assert all(torch.isfinite(v).all() for v in good[part].values() if v.is_floating_point())
    assert all(v == v and abs(v) != float("inf") for v in snap.history("loss_D"))
    G, _, _ = ckpt.load_generator(tmp_path / "last.pt")  # and it still samples
    assert torch.isfinite(G(torch.randn(2, 100, 1, 1))).all()


def test_nonfinite_before_any_checkpoint_says_so(shapes32, tmp_path):
    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 50})
    job = TrainingJob(cfg, data=shapes32, out_dir=tmp_path, fault=_poison(float("nan"), 3))
    job.start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "NaN/inf" in snap.error
    assert "last good checkpoint" not in snap.error
    assert not (tmp_path / "last.pt").exists(), "a poisoned state is never written"


def test_a_nan_hidden_in_a_buffer_is_never_saved(shapes32, tmp_path):
    """Losses stay finite when only BatchNorm's running stats go bad; the save must notice."""

    def fault(tr):
        if tr.step_num == 15:
            bn = next(m for m in tr.G.modules() if isinstance(m, torch.nn.BatchNorm2d))
            bn.running_var.fill_(float("nan"))

    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 10})
    job = TrainingJob(cfg, data=shapes32, out_dir=tmp_path, fault=fault)
    job.start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "NaN/inf" in snap.error
    assert ckpt.load(tmp_path / "last.pt")["step"] == 10


# ------------------------------------------------------------------ out of memory


@pytest.mark.parametrize(
    "error",
    [
        lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
        lambda: MemoryError(),
    ],
    ids=["cuda-oom", "host-oom"],
)
def test_out_of_memory_suggests_a_smaller_batch(shapes32, tmp_path, error):
    def fault(tr):
        if tr.step_num == 12:
            raise error()

    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 10})
    job = TrainingJob(cfg, data=shapes32, out_dir=tmp_path, fault=fault)
    job.start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed"
    assert "out of" in snap.error and "memory" in snap.error
    assert "batch size 32" in snap.error and "smaller batch (for example 16)" in snap.error
    assert "Traceback" not in snap.error
    assert ckpt.load(tmp_path / "last.pt")["step"] == 10, "the last good checkpoint is kept"


# ------------------------------------------------------------------ crashes


class Quit(BaseException):
    """Like SystemExit or a KeyboardInterrupt raised inside library code."""


@pytest.mark.parametrize("exc", [RuntimeError("boom"), SystemExit(3), Quit("bye")])
def test_a_crash_in_the_job_never_takes_the_process_down(shapes32, exc):
    def fault(tr):
        if tr.step_num == 4:
            raise exc

    slot = JobSlot()
    job = slot.start(small_cfg(**{"train.steps": 50}), data=shapes32, fault=fault)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed", "the job never sits in 'running' after its thread died"
    assert type(exc).__name__ in snap.error
    # the process and the slot go on: the next job runs to the end
    nxt = slot.start(small_cfg(**{"train.steps": 3}), data=shapes32)
    assert nxt.wait(60) and nxt.snapshot().status == "finished"


def test_a_hostile_dataset_fails_the_job_with_the_data_message(tmp_path):
    z = tmp_path / "up.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../evil.png", b"x")
        zf.writestr("bomb.png", b"\x00" * 2_000_000)
    job = TrainingJob(small_cfg(**{"data.source": str(z)}))
    job.start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "no usable images" in snap.error
    assert "unsafe path" in snap.error and "Traceback" not in snap.error


def test_resuming_from_a_bad_checkpoint_fails_the_job_clearly(shapes32, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04garbage")
    job = TrainingJob(small_cfg(), data=shapes32, resume=bad)
    job.start()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "not a readable checkpoint" in snap.error


# ------------------------------------------------------------------ pause and stop


def test_pause_and_stop_answer_within_one_step(shapes32):
    job = TrainingJob(small_cfg(**{"train.steps": 100_000}), data=shapes32)
    job.start()
    assert wait_for(lambda: job.trainer is not None and job.trainer.step_num >= 3)
    for _ in range(3):
        at = job.trainer.step_num
        job.pause()
        assert job.snapshot().status == "paused"  # the answer is immediate
        time.sleep(0.5)
        held = job.trainer.step_num
        assert held <= at + 1, "at most the step in flight finishes"
        time.sleep(0.3)
        assert job.trainer.step_num == held
        job.resume()
        assert wait_for(lambda held=held: job.trainer.step_num > held + 2)
    at = job.trainer.step_num
    job.stop()
    assert job.wait(10)
    assert job.trainer.step_num <= at + 1
    assert job.snapshot().status == "stopped"


def test_stop_while_paused_ends_the_job(shapes32, tmp_path):
    job = TrainingJob(small_cfg(**{"train.steps": 100_000}), data=shapes32, out_dir=tmp_path)
    job.start()
    assert wait_for(lambda: job.trainer is not None and job.trainer.step_num >= 3)
    job.pause()
    time.sleep(0.2)
    job.stop()
    assert job.wait(10)
    assert job.snapshot().status == "stopped"
    assert ckpt.load(tmp_path / "last.pt")["step"] == job.trainer.step_num


@pytest.fixture
def slow_zip(tmp_path):
    """6,000 small PNGs whose decoding is slowed to ~1 ms each, so loading takes seconds."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buf, format="PNG")
    z = tmp_path / "many.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        for i in range(6000):
            zf.writestr(f"faces/{i:05d}.png", buf.getvalue())
    return z


def slowed(monkeypatch, seen: list):
    real = data.decode_image

    def decode(b, size):
        seen.append(1)
        time.sleep(0.001)
        return real(b, size)

    monkeypatch.setattr(data, "decode_image", decode)


def test_stop_during_loading_answers_without_decoding_everything(slow_zip, monkeypatch):
    decoded = []
    slowed(monkeypatch, decoded)
    job = TrainingJob(small_cfg(**{"data.source": str(slow_zip)}))
    job.start()
    assert wait_for(lambda: len(decoded) > 300)
    job.stop()
    assert job.wait(10), "stop answered while loading"
    assert job.snapshot().status == "stopped"
    assert job.trainer is None, "no training started after a stop"
    assert len(decoded) < 6000, "the rest of the dataset was not decoded after stop"


def test_pause_during_loading_is_reported_as_paused(slow_zip, monkeypatch):
    decoded = []
    slowed(monkeypatch, decoded)
    job = TrainingJob(small_cfg(**{"data.source": str(slow_zip), "data.limit": 64}))
    job.start()
    assert wait_for(lambda: len(decoded) > 10)
    job.pause()
    assert wait_for(lambda: job.trainer is not None, timeout=120)
    time.sleep(0.5)
    assert job.snapshot().status == "paused", "a job paused while loading must not say running"
    assert job.trainer.step_num == 0
    job.resume()
    assert wait_for(lambda: job.trainer.step_num >= 1)
    job.stop()
    assert job.wait(10)

"""Faults: a checkpoint writer killed mid-save, and a stop or pause while the data still loads.

What a user relies on: a trained model is never lost (the previous checkpoint always loads),
and pause/stop answer even while a large dataset is still decoding. NaN/inf, out of memory and
crashes of the job process are in tests/test_job.py.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch

from dcgan import checkpoint as ckpt
from dcgan import data, runs
from dcgan.runs import handle, job
from tests.helpers import small_cfg

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: on a busy 2-core machine, two OpenMP threads spin-wait on each
    other and a step takes 10-30x longer. Behaviour is the same; only the wait shrinks."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _size(p: Path) -> int:
    """A temp file's size, 0 once the writer has already renamed it away."""
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


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
                tmp = next((p for p in tmp_path.glob(".last.pt.*.tmp") if _size(p) > 0), None)
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


# ------------------------------------------------------------------ controls while loading


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


def slowed(monkeypatch, seen: threading.Semaphore, count: list | None = None):
    """Slow every decode to ~1 ms and count it."""
    real = data.decode.decode_image

    def decode(b, size):
        seen.release()
        if count is not None:
            count.append(1)
        time.sleep(0.001)  # the slowness under test, not a wait
        return real(b, size)

    monkeypatch.setattr(data.decode, "decode_image", decode)


def _in_thread(cfg, root: Path) -> tuple[handle.RunHandle, threading.Thread]:
    """The job's life (run_job) in a thread, so a monkeypatched decoder applies."""
    d = job.prepare(cfg, root)
    t = threading.Thread(target=job.run_job, args=(d,))
    t.start()
    return handle.RunHandle(d), t


def _acquire(sem: threading.Semaphore, n: int, timeout: float = 60) -> None:
    """Wait until n decodes happened."""
    for _ in range(n):
        assert sem.acquire(timeout=timeout), "decoding never started"


def test_stop_during_loading_answers_without_decoding_everything(slow_zip, monkeypatch, tmp_path):
    decoded, count = threading.Semaphore(0), []
    slowed(monkeypatch, decoded, count)
    h, t = _in_thread(small_cfg(**{"data.source": str(slow_zip)}), tmp_path / "runs")
    _acquire(decoded, 300)
    h.stop()
    t.join(30)
    assert not t.is_alive(), "stop answered while loading"
    assert h.status()["status"] == "stopped"
    assert h.status().get("total_steps", 0) == 0, "no training started after a stop"
    assert len(count) < 6000, "the rest of the dataset was not decoded after stop"


def test_pause_during_loading_is_reported_as_paused(slow_zip, monkeypatch, tmp_path):
    decoded = threading.Semaphore(0)
    slowed(monkeypatch, decoded)
    cfg = small_cfg(**{"data.source": str(slow_zip), "data.limit": 64})
    h, t = _in_thread(cfg, tmp_path / "runs")
    try:
        _acquire(decoded, 10)
        h.pause()
        st = h.wait_for(lambda s: s.get("status") in ("paused", "running"), 120)  # loaded
        assert st["status"] == "paused", "a job paused while loading must not say running"
        h.save()  # answered at step 0: the paused job never trained
        r = runs.RunReader(h.dir)
        st = h.wait_for(lambda s: r.update() >= 0 and any(e["kind"] == "saved" for e in r.events))
        assert [e["step"] for e in r.events if e["kind"] == "saved"] == [0]
        h.resume()
        assert h.wait_for(lambda s: s.get("step", 0) >= 1)["step"] >= 1
    finally:
        h.stop()
        t.join(60)

"""The Space on ZeroGPU, offline: `python space/zerogpu_fake.py` runs space/app.py with the real
`spaces` package switched to ZeroGPU and a fake of Hugging Face's GPU scheduler (the module's
docstring lists what is real and what is faked). Every GPU function must pass under it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan import live
from dcgan.checkpoint import load_generator
from loadtest.common import server
from loadtest.net import free_port
from tests.helpers import tiny_generators

gradio_client = pytest.importorskip("gradio_client")
pytest.importorskip("spaces")
from gradio_client.exceptions import AppError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "space" / "zerogpu_fake.py"
sys.path.insert(0, str(ROOT / "space"))
import zerogpu_fake  # noqa: E402

TRAIN_STEPS = 30  # a 60-second run, capped in steps so the test takes seconds
YOURS = "yours (Train tab)"


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@contextmanager
def fake_space(tmp: Path, app: Path, *args: str, env: dict | None = None):
    """`zerogpu_fake.py APP` on a free port until the block ends (the server and its forked
    GPU workers, one process group); yields (process, url, scheduler log path)."""
    port, log = free_port(), tmp / "scheduler.json"
    full_env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DCGAN_FAKE_ZEROGPU_LOG": str(log),
        "OMP_NUM_THREADS": "1",
        **(env or {}),
    }
    url = f"http://127.0.0.1:{port}/"
    cmd = [sys.executable, str(FAKE), str(app), *args]
    with server(cmd, full_env, url, tmp / "server.log", 120, cwd=tmp, inherit_env=False) as proc:
        yield proc, url, log


def calls(log: Path, count: int = 1, user: str | None = None) -> list[dict]:
    """The fake scheduler's call log (user, duration asked, outcome, seconds held), or `user`'s
    part of it, once it holds `count` calls (the log is written twice a second)."""
    deadline = time.monotonic() + 10
    found: list[dict] = []
    while time.monotonic() < deadline:
        try:
            found = json.loads(log.read_text())["calls"]
        except (OSError, ValueError):
            found = []
        found = [x for x in found if user is None or x["user"] == user]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the scheduler logged fewer than {count} calls: {found}")


@pytest.fixture(scope="module")
def zero_space(tmp_path_factory):
    """space/app.py under the fake, with one tiny generator; visitor bob has 20 s of quota."""
    tmp = tmp_path_factory.mktemp("zerogpu")
    checkpoints = tiny_generators(tmp / "checkpoints")
    env = {
        "DCGAN_CHECKPOINTS": str(checkpoints),
        "DCGAN_SPACE_SESSIONS": str(tmp / "sessions"),
        "DCGAN_SPACE_TRAIN_STEPS": str(TRAIN_STEPS),
    }
    app = ROOT / "space" / "app.py"
    with fake_space(tmp, app, "--user-quota", "bob=20", env=env) as (proc, url, log):
        yield url, log, tmp / "sessions", proc.pid


def visitor(url: str, user: str):
    """A visitor's client whose requests carry Hugging Face's X-IP-Token for `user`."""
    token = zerogpu_fake.token_for(user)
    return gradio_client.Client(url, verbose=False, headers={"x-ip-token": token})


def test_a_minute_run_on_zerogpu_streams_exports_and_plays_in_the_latent_tabs(zero_space):
    """Train (60 s asked) runs as one GPU call in a forked worker: the grid streams and
    changes, the generator is exported inside the call, and the Samples, Interpolation and
    Vector arithmetic endpoints then draw from it, on the server's CPU."""
    url, log, sessions, server_pid = zero_space
    c = visitor(url, "alice")
    job = c.submit("shapes", 60, api_name="/train")
    job.result(timeout=300)
    outputs = job.outputs()
    grids = [pixels(o[1]) for o in outputs if isinstance(o[1], str)]
    assert len(grids) >= 2 and any(not np.array_equal(grids[0], g) for g in grids[1:])
    text, _, _, download, pick = outputs[-1]
    assert "Done" in text and f"step {TRAIN_STEPS}" in text and pick["value"] == YOURS
    G, cfg, _ = load_generator(download["value"])
    assert cfg.image_size == 32

    # the run trained in ZeroGPU's worker, not in the server or a job process of its own
    status = [json.loads(p.read_text()) for p in sessions.rglob("status.json")]
    assert len(status) == 1 and status[0]["pid"] != server_pid

    assert pixels(c.predict(YOURS, 3, 4, api_name="/sample")).shape == (70, 70, 3)
    strip, _ = c.predict(YOURS, 1, 2, "slerp", 5, api_name="/interp")
    assert pixels(strip).shape == (36, 5 * 34 + 2, 3)
    means, around = c.predict(
        YOURS, 0, "16", "0, 1", "2", "3", 1, -1, 1, 0.25, api_name="/arithmetic"
    )
    assert pixels(means).shape == (36, 4 * 34 + 2, 3)

    train_calls = calls(log, user="alice")
    assert len(train_calls) == 1  # sampling never asked for the GPU
    asked = train_calls[0]
    assert asked["duration_s"] == 60 + 35 and asked["outcome"] == "ok"
    assert asked["held_s"] < asked["duration_s"]


def test_a_visitor_short_of_quota_gets_zerogpus_message_and_can_still_sample(zero_space):
    """Bob has 20 s left; a 5-second run asks for 40 s and is refused with ZeroGPU's own
    "requested vs. left" message, as a gr.Error; sampling costs no quota and still answers."""
    url, log, _, _ = zero_space
    c = visitor(url, "bob")
    with pytest.raises(AppError, match=r"40s requested vs. 20s left"):
        c.predict("shapes", 5, api_name="/train")
    assert pixels(c.predict("tiny-32", 0, 1, api_name="/sample")).shape == (36, 36, 3)
    assert [x["outcome"] for x in calls(log, user="bob")] == ["refused"]


CONTRACT_APP = """
import os, time
import gradio as gr
import spaces

SERVER = os.getpid()

@spaces.GPU(duration=lambda x: 2 if x == "slow" else 10)
def probe(x):
    if x == "gr-error":
        raise gr.Error("a message for the visitor")
    if x == "value-error":
        raise ValueError("an internal detail")
    if x == "slow":
        time.sleep(8)
    return f"{os.getpid() != SERVER} {x}"

with gr.Blocks() as demo:
    box = gr.Textbox()
    box.submit(probe, box, box, api_name="probe")
demo.launch()
"""


def test_the_fake_keeps_zerogpus_contract(tmp_path):
    """What every GPU function must live with: it runs in a forked worker, its arguments and
    result are pickled, only a gr.Error reaches the visitor as itself, and a call that outlives
    its duration is ended."""
    app = tmp_path / "probe.py"
    app.write_text(CONTRACT_APP)
    with fake_space(tmp_path, app) as (_, url, log):
        c = gradio_client.Client(url, verbose=False)
        assert c.predict("hello", api_name="/probe") == "True hello"  # another process
        with pytest.raises(AppError, match="a message for the visitor"):
            c.predict("gr-error", api_name="/probe")
        with pytest.raises(AppError) as err:
            c.predict("value-error", api_name="/probe")
        assert "ValueError" in str(err.value) and "an internal detail" not in str(err.value)
        with pytest.raises(AppError, match="GPU task aborted"):
            c.predict("slow", api_name="/probe")  # asks 2 s, takes 8: the worker is killed
        assert c.predict("again", api_name="/probe") == "True again"  # a fresh worker
        outcomes = [(x["duration_s"], x["outcome"]) for x in calls(log, 5)]
        assert (2, "killed") in outcomes and outcomes[0] == (10, "ok")


def test_gpu_training_turns_a_busy_folder_into_a_clear_error(tmp_path):
    """Inside the GPU function, a visitor's run that is still going (JobBusyError) becomes a
    gr.Error, the only kind ZeroGPU shows the visitor as written."""
    import gradio as gr
    import zerogpu

    first = live.train_here("shapes", tmp_path, 60, max_steps=100_000, poll=0.05)
    next(first)  # holds the visitor's folder
    try:
        with pytest.raises(gr.Error, match="previous run is still stopping"):
            next(zerogpu._train_on_gpu("shapes", str(tmp_path), 10, 5))
    finally:
        first.close()


def test_the_calls_clock_stops_a_run_in_time_to_export(tmp_path, monkeypatch):
    """The run stops by the GPU call's own clock (LOAD_S + seconds after the call began), so a
    load that ate the margin shortens the training and the export still lands in the call."""
    import zerogpu

    assert zerogpu.train_duration("shapes", "x", 60) == 60 + 35
    monkeypatch.setattr(zerogpu, "LOAD_S", -9)  # as if loading had taken 9 s too long
    started = time.monotonic()
    frames = list(zerogpu._train_on_gpu("shapes", str(tmp_path), 10, None))
    last = frames[-1]
    assert last.ended and last.generator and Path(last.generator).exists()
    assert last.trained < 6 and time.monotonic() - started < 10 + zerogpu.EXPORT_S

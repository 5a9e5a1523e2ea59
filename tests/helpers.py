"""What several test files share: the tiny training config, tiny generator exports for the
Space, a resumed run beside an uninterrupted one, the CLI's one-step training arguments, the
chapter's generator shapes, a fresh Streamlit server with extra pages listed for AppTest, and a
real `streamlit run app.py` with the browser's "page has settled" wait. Import them as
`from tests.helpers import small_cfg` (conftest.py puts the repo root on sys.path); ports and
bounded waits come from loadtest.net, which bench/ and loadtest/ use too."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dcgan import checkpoint as ckpt
from dcgan.config import Config, ModelConfig, preset
from dcgan.models import build as build_models
from dcgan.trainer import Trainer
from loadtest.net import free_port, wait_http

APP = str(Path(__file__).resolve().parents[1] / "app.py")
# `python -m` arguments for one classroom-cpu step: the quickest real run of the training CLI
TRAIN_ONE_STEP = ("dcgan.train", "--preset", "classroom-cpu", "--steps", "1")
# the chapter's generator, layer by layer (C, H, W): nz=100 in, ngf*8 = 512 channels at 4x4
CHAPTER_G_SHAPES = [(100, 1, 1), (512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]


def small_cfg(**over) -> Config:
    """A tiny classroom model (widths 16, batch 32): a step takes milliseconds on one core.

    EMA and DiffAugment are pinned off, so tests of the plain loop do not move when the
    classroom preset is tuned; pass dotted overrides to change anything else.
    """
    return preset("classroom-cpu").replace(
        **{
            "model.ngf": 16,
            "model.ndf": 16,
            "train.batch_size": 32,
            "train.sample_every": 10,
            "train.sample_min_s": 0.0,  # a grid at every 10th step, however fast the steps
            "train.log_every": 5,
            "train.ema_decay": 0.0,
            "train.diffaugment": "",
            **over,
        }
    )


def tiny_generators(folder: Path, sizes: dict[str, int] | None = None) -> Path:
    """folder, made and holding an untrained generator export per name -> image size (default
    one 32 px "tiny-32"), ngf 8 with the paper's init (BN weights ~1: z matters); the Space's
    behaviour does not depend on what they learned."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in (sizes or {"tiny-32": 32}).items():
        cfg = ModelConfig(image_size=size, ngf=8, ndf=8, init="paper")
        ckpt.export_generator(build_models(cfg, seed=1)[0], cfg, folder / f"{name}.safetensors")
    return folder


def full_and_resumed(
    cfg: Config, dataset, tmp_path: Path, steps: int, split: int
) -> tuple[Trainer, Trainer]:
    """Two Trainers from cfg: one run `steps` straight, one stopped at `split`, checkpointed,
    loaded into a fresh Trainer and run to `steps`; resuming should leave no trace."""
    full = Trainer(cfg, dataset)
    full.run(steps)
    first = Trainer(cfg, dataset)
    first.run(split)
    ckpt.save(first.state_dict(), tmp_path / "c.pt")
    second = Trainer(cfg, dataset)
    second.load_state_dict(ckpt.load(tmp_path / "c.pt"))
    second.run(steps - split)
    return full, second


@contextmanager
def page_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pages: tuple = ()
) -> Iterator[Path]:
    """A fresh server for AppTest: its own runs folder (yielded), no shipped generators, fresh
    caches, and `pages` ((file, title, icon) rows) listed in ui.nav.PAGES if the lead has not yet
    registered them; the folder's job is stopped afterwards."""
    import streamlit as st

    from dcgan import pretrained
    from dcgan.runs.handle import stop_all
    from ui import nav

    root = tmp_path / "runs"
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(root))
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "no-shipped-generators")
    listed = {p[0] for p in nav.PAGES}
    monkeypatch.setattr(nav, "PAGES", nav.PAGES + tuple(p for p in pages if p[0] not in listed))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield root
    stop_all(root)
    st.cache_resource.clear()
    st.cache_data.clear()


def open_page(name: str, timeout: float):
    """Run app.py, then switch to pages/<name>.py, as a visitor clicking the link would
    ("home" is app.py's first page: no switch)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout).run()
    if name != "home":
        at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


class Server:
    """A real `streamlit run app.py` on a free port with its own runs folder; killable, and
    started again on a fresh port (the run folder stays)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.runs = tmp / "runs"
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> str:
        """Start the server and wait for its health check; returns its URL."""
        port = free_port()
        env = {
            **os.environ,
            "DCGAN_RUNS_DIR": str(self.runs),
            # One intra-op thread for the job: on a busy 2-core runner, Chromium drawing charts
            # beside two spinning OpenMP threads made training 20x slower.
            "OMP_NUM_THREADS": "1",
        }
        log = open(self.tmp / "streamlit.log", "a")  # noqa: SIM115 - closed when it stops
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", APP, "--server.headless", "true"]
            + ["--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=Path(APP).parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.url = f"http://127.0.0.1:{port}"
        wait_http(f"{self.url}/_stcore/health", self.proc, 90, self.tmp / "streamlit.log")
        return self.url

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM killer would: no cleanup runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        """A clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# Streamlit has run the script (stApp's script state; a fragment's rerun counts too) and drawn
# every chart and image it sent: what a teacher sees once the page has loaded
SETTLED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    const charts = Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'));
    const images = Array.from(document.querySelectorAll('[data-testid="stMain"] img'));
    return charts.every((c) => c.querySelector('.js-plotly-plot .main-svg'))
        && images.every((i) => i.complete);
}"""


def settle(page, timeout: float = 60) -> None:
    """Wait for the page's title, then for Streamlit to finish running the script and for its
    charts and images to be drawn; a timeout names the condition that never held."""
    page.wait_for_selector("h1", timeout=timeout * 1000)
    page.wait_for_function(SETTLED, timeout=timeout * 1000)

"""The Space's Train tab: a visitor's live run, streamed as a status line, a grid and a loss
chart, and kept as their generator when it ends; Stop. Sampling events are in events.py.

A visitor's training run is its own process on CPU hardware and one GPU call on ZeroGPU.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import gradio as gr
import pandas as pd  # gradio's own dependency: the loss chart's table
from checks import MIN_SECONDS, choice, whole
from events import YOURS, session_dir
from zerogpu import TRAIN_SECONDS, ZERO_GPU, train_on_gpu

from dcgan import live, runs
from dcgan.checkpoint import read_metadata
from dcgan.data import DataError
from dcgan.i18n import _, number

# tests and the browser check cap the steps (env), so a run ends in seconds; None = the clock
TRAIN_STEP_CAP = int(os.environ.get("DCGAN_SPACE_TRAIN_STEPS", "0")) or None
# one training process waits with torch imported, so Train shows a grid in about a second
SPARE = not ZERO_GPU and os.environ.get("DCGAN_SPACE_SPARE", "1") != "0"


# ------------------------------------------------------------------ live training


def keep_yours(generator_file: str, folder: Path, source: str) -> Path:
    """Copy a finished run's generator into the visitor's folder under a telling file name;
    it replaces their previous one, so a visitor holds one model at a time."""
    meta = read_metadata(generator_file)
    dest_dir = folder / "yours"
    dest_dir.mkdir(parents=True, exist_ok=True)
    for old in dest_dir.glob("*.safetensors"):
        old.unlink(missing_ok=True)
    dest = dest_dir / f"dcgan-{source}-step{meta.get('step', '0')}.safetensors"
    shutil.copyfile(generator_file, dest)
    return dest


def loss_table(f: live.Frame) -> pd.DataFrame:
    """The two loss series in the long form gr.LinePlot draws (one colour per network)."""
    n = len(f.steps)
    return pd.DataFrame(
        {
            "step": f.steps * 2,
            "loss": f.loss_D[:n] + f.loss_G[:n],
            "network": ["D"] * n + ["G"] * n,
        }
    )


def describe_frame(f: live.Frame, label: str) -> str:
    """One status line under the Train button."""
    if f.status == runs.JobStatus.LOADING:
        return _("**{label}**: loading the images and starting the trainer… ({s} s)").format(
            label=_(label), s=number(f.elapsed, 0)
        )
    speed = (
        " · " + _("{n} images/s").format(n=number(f.examples_per_sec, 0))
        if f.examples_per_sec
        else ""
    )
    head = _("**{label}** · step {step} · {s} s of {total} s").format(
        label=_(label), step=number(f.step), s=number(f.trained, 0), total=number(f.seconds, 0)
    )
    head += speed
    if f.status == runs.JobStatus.FAILED:
        return f"{head}\n\n" + _("**The run failed:** {error}").format(error=f.error)
    if f.ended and not f.generator:
        return f"{head}\n\n" + _("**Stopped** before it trained: there is no generator to keep.")
    if f.ended:
        return f"{head}\n\n" + _(
            "**Done.** The grid is what your generator draws now. It is picked above as "
            "**yours**: the Samples, Interpolation and Vector arithmetic tabs use it until you "
            "close this page. Download it to load it in the app or `python -m dcgan.sample`."
        )
    return head


def train(dataset, seconds, request: gr.Request = None):
    """Train a small DCGAN live and stream its fixed-noise grid and losses about every second.

    A generator function (yield), not gr.Timer: the stream belongs to this one event, so it
    ends when the run does, waits in the training queue like any request (the visitor sees
    their place), and stops the run when the visitor leaves, with no polling event per tab.
    """
    options = live.sources(upload=True)
    source = choice(dataset, "Dataset", list(options))
    seconds = whole(seconds, "Seconds", MIN_SECONDS, TRAIN_SECONDS)
    folder = session_dir(request)
    try:  # "upload" with no upload yet: refused before a run (or a GPU call) starts
        live.run_source(source, folder)
    except DataError as e:
        raise gr.Error(str(e)) from e
    folder.mkdir(parents=True, exist_ok=True)
    # the first answer comes before the run starts: a visitor who leaves here leaves nothing
    yield (
        describe_frame(live.Frame(runs.JobStatus.LOADING, 0, 0.0, seconds), options[source]),
        None,
        None,
        gr.DownloadButton(value=None, visible=False),
        gr.skip(),
    )
    if ZERO_GPU:
        frames = train_on_gpu(source, str(folder), seconds, TRAIN_STEP_CAP)
    else:  # its own process: sampling requests keep this server's core to themselves
        try:
            run_dir = live.start(source, folder, seconds, max_steps=TRAIN_STEP_CAP)
        except runs.JobBusyError as e:
            raise gr.Error(
                _("Your previous run is still stopping; press Train again in a moment.")
            ) from e
        frames = live.follow(run_dir, seconds)
    try:
        yield from stream(frames, folder, source, options[source])
    finally:
        if not ZERO_GPU and SPARE:
            live.warm()  # the next visitor's process imports while this one looks at results


def stream(frames, folder: Path, source: str, label: str):
    """Each live.Frame as the Train tab's outputs; unchanged outputs are skipped."""
    points = 0
    for f in frames:
        table = gr.skip()
        if len(f.steps) != points or f.ended:
            points, table = len(f.steps), loss_table(f)
        download, pick = gr.skip(), gr.skip()
        if f.ended and f.generator:
            mine = keep_yours(f.generator, folder, source)
            download = gr.DownloadButton(value=str(mine), visible=True)
            pick = gr.Dropdown(value=YOURS)
        grid = f.grid if f.grid is not None else gr.skip()
        yield describe_frame(f, label), grid, table, download, pick


def stop_training(request: gr.Request = None):
    """Stop this visitor's run; it ends within a step and its generator becomes theirs."""
    if not live.stop(session_dir(request)):
        gr.Info(_("No run of yours is training."))

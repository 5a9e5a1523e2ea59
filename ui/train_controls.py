"""The Train page's commands to the job: Start (from the settings or a checkpoint), Pause,
Resume, Stop, and the slow-motion panel (single D and G steps, lr and β1 mid-run).

The job is its own process; these only send it commands through its run folder, so every
viewer's buttons act on the same job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from dcgan import checkpoint as ckpt
from dcgan.config import Config, ConfigError
from dcgan.data import DataError
from dcgan.runs import JobBusyError
from dcgan.runs.loop import PARTS
from ui import jobs, state, uploads


def start(cfg_fn: Callable[[], Config], resume: Path | None = None) -> None:
    """Start a job from the settings or a checkpoint, with a clear message either way."""
    try:
        cfg = cfg_fn()
        uploads.check_source(cfg.data.source)  # a checkpoint names its own data path
        h = jobs.start(cfg, resume=resume)
    except (ConfigError, DataError, ckpt.CheckpointError) as e:
        st.error(f"Not started: {e}")
    except JobBusyError as e:
        st.warning(f"Start refused: {e} Everyone shares this server's one job.")
    else:
        state.set_train_cfg(cfg.to_dict())
        st.success(f"Started {h.dir.name}: {jobs.job_summary(cfg.to_dict())}.")


def buttons(build_config: Callable[[], Config]) -> None:
    """Start, Pause, Resume and Stop in one row; a spare job process waits while none trains."""
    b = st.columns([1, 1, 1, 1, 4])
    pressed_start = b[0].button("Start", type="primary", width="stretch")
    pressed = {
        "pause": b[1].button("Pause", width="stretch"),
        "resume": b[2].button("Resume", width="stretch"),
        "stop": b[3].button("Stop", width="stretch"),
    }
    if pressed_start:
        start(build_config)
    job = jobs.current_job()
    jobs.warm()  # a spare job process waits while nothing trains: Start's first step comes fast
    for verb in (v for v, down in pressed.items() if down):
        if job is not None and job.alive:
            getattr(job, verb)()
            if verb == "stop":
                st.info("Stopping after the current step; a final checkpoint is written.")
        else:
            st.info(f"There is no running job to {verb}.")


def slow_motion() -> None:
    """Single D and G steps, a delay per step, and lr or β1 changed mid-run (GAN Lab style)."""
    job = jobs.current_job()
    live = job is not None and job.alive
    ss = st.session_state
    with st.expander("Step by step, slow motion, and changing lr or β1 mid-run (GAN Lab style)"):
        st.caption(
            "What to look for: one D step pushes D(x) up and D(G(z)) down; one G step pulls "
            "D(G(z)) back up. A changed learning rate is marked on the charts by a dashed line."
        )
        c = st.columns(4)
        labels = ("One step (D then G)", "One D step", "One G step")
        for col, part, label in zip(c[:3], PARTS, labels, strict=True):
            if col.button(label, key=f"step_{part}", disabled=not live, width="stretch"):
                job.step(1, part)
        delay = c[3].slider("Slow motion (s per step)", 0.0, 2.0, 0.0, 0.1, key="tr_delay")
        c = st.columns([1, 1, 1])
        new_lr = c[0].number_input("lr", 1e-6, 1.0, float(ss.tr_lr), format="%.5f", key="tr_new_lr")
        new_b1 = c[1].number_input("β1", 0.0, 0.99, float(ss.tr_beta1), key="tr_new_b1")
        if c[2].button("Apply to the running job", disabled=not live):
            job.set(lr=float(new_lr), beta1=float(new_b1), delay=float(delay))
            st.success(f"From the next step: lr {new_lr:g}, β1 {new_b1:g}, {delay:g} s per step.")

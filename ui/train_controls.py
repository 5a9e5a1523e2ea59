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
from dcgan.i18n import N_, _, number
from dcgan.runs import JobBusyError
from dcgan.runs.loop import PARTS
from ui import jobs, state, uploads

# what a command button says when no job runs, by the job's command it would send
NO_JOB = {
    "pause": N_("There is no running job to pause."),
    "resume": N_("There is no running job to resume."),
    "stop": N_("There is no running job to stop."),
}
STEP_LABELS = (N_("One step (D then G)"), N_("One D step"), N_("One G step"))  # as PARTS


def start(cfg_fn: Callable[[], Config], resume: Path | None = None) -> None:
    """Start a job from the settings or a checkpoint, with a clear message either way."""
    try:
        cfg = cfg_fn()
        uploads.check_source(cfg.data.source)  # a checkpoint names its own data path
        h = jobs.start(cfg, resume=resume)
    except (ConfigError, DataError, ckpt.CheckpointError) as e:
        st.error(_("Not started: {error}").format(error=e))
    except JobBusyError as e:
        st.warning(
            _("Start refused: {reason} Everyone shares this server's one job.").format(reason=e)
        )
    else:
        state.set_train_cfg(cfg.to_dict())
        st.success(
            _("Started {run}: {summary}.").format(
                run=h.dir.name, summary=jobs.job_summary(cfg.to_dict())
            )
        )


def buttons(build_config: Callable[[], Config]) -> None:
    """Start, Pause, Resume and Stop in one row; a spare job process waits while none trains."""
    b = st.columns([1, 1, 1, 1, 4])
    pressed_start = b[0].button(_("Start"), type="primary", width="stretch")
    pressed = {
        "pause": b[1].button(_("Pause"), width="stretch"),
        "resume": b[2].button(_("Resume"), width="stretch"),
        "stop": b[3].button(_("Stop"), width="stretch"),
    }
    if pressed_start:
        start(build_config)
    job = jobs.current_job()
    jobs.warm()  # a spare job process waits while nothing trains: Start's first step comes fast
    for verb in (v for v, down in pressed.items() if down):
        if job is not None and job.alive:
            getattr(job, verb)()
            if verb == "stop":
                st.info(_("Stopping after the current step; a final checkpoint is written."))
        else:
            st.info(_(NO_JOB[verb]))


def slow_motion() -> None:
    """Single D and G steps, a delay per step, and lr or β1 changed mid-run (GAN Lab style)."""
    job = jobs.current_job()
    live = job is not None and job.alive
    ss = st.session_state
    with st.expander(_("Step by step, slow motion, and changing lr or β1 mid-run (GAN Lab style)")):
        st.caption(
            _(
                "What to look for: one D step pushes D(x) up and D(G(z)) down; one G step pulls "
                "D(G(z)) back up. A changed learning rate is marked on the charts by a dashed "
                "line."
            )
        )
        c = st.columns(4)
        for col, part, label in zip(c[:3], PARTS, STEP_LABELS, strict=True):
            if col.button(_(label), key=f"step_{part}", disabled=not live, width="stretch"):
                job.step(1, part)
        delay = c[3].slider(_("Slow motion (s per step)"), 0.0, 2.0, 0.0, 0.1, key="tr_delay")
        c = st.columns([1, 1, 1])
        new_lr = c[0].number_input("lr", 1e-6, 1.0, float(ss.tr_lr), format="%.5f", key="tr_new_lr")
        new_b1 = c[1].number_input("β1", 0.0, 0.99, float(ss.tr_beta1), key="tr_new_b1")
        if c[2].button(_("Apply to the running job"), disabled=not live):
            job.set(lr=float(new_lr), beta1=float(new_b1), delay=float(delay))
            st.success(
                _("From the next step: lr {lr}, β1 {beta1}, {delay} s per step.").format(
                    lr=f"{new_lr:g}", beta1=f"{new_b1:g}", delay=number(delay)
                )
            )

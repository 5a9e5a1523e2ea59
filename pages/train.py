"""Train: one training job per runs folder, watched live; charts, samples, health, checkpoints.

The job is its own process (dcgan.runs.job); this page only reads its run folder, through one
shared reader per run (ui.jobs.SharedRun), and sends it commands. A job started from the CLI
under checkpoints/runs shows here the same way, and a server restart finds it again.

The page reads top to bottom as it appears on screen; each part lives in a ui module:
settings (ui.train_settings), commands (ui.train_controls), the live view, charts and timeline
(ui.train_live) and the checkpoint panel (ui.train_checkpoints).
"""

import streamlit as st

from dcgan.i18n import _
from ui import nav, train_checkpoints, train_controls, train_live, train_settings
from ui.page_parts import pixelated

nav.page_setup()
pixelated()

train_settings.init_settings()
train_settings.sidebar()

st.title(_("Train"))
st.caption(
    _(
        "One training job at a time: everyone who opens this page watches the same run. It "
        "trains in its own process, so closing the tab, reloading or restarting the server "
        "never stops it. A run started with `python -m dcgan.train --out checkpoints/runs/NAME` "
        "shows here too."
    )
)
train_controls.buttons(train_settings.build_config)
train_controls.slow_motion()

train_live.live_view()
train_live.live_charts()
train_live.timeline_view()

train_checkpoints.panel()

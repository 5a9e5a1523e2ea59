"""The page list and what every page draws first: config, sidebar links, the job's status."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st

from ui import links
from ui.device import device_line
from ui.jobs import current_job, shared_run

ICON = Path(__file__).resolve().parents[1] / "static" / "icon.png"


class Page(NamedTuple):
    """One page: app.py registers it with st.navigation, page_setup() links it, Home lists it
    under "Where to go next" with its teaser. A new page is its file plus one row below."""

    path: str
    title: str
    icon: str  # a Material icon: they ship inside Streamlit's frontend, so they work offline
    teaser: str = ""  # Home's one line about it ("" for Home itself)


CHAPTER_PAGES = (
    Page("pages/home.py", "Home", ":material/home:"),
    Page("pages/data.py", "Data", ":material/photo_library:", "look at the training images"),
    Page("pages/train.py", "Train", ":material/model_training:", "watch G and D learn, live"),
    Page("pages/activations.py", "Activations", ":material/show_chart:", "why D uses LeakyReLU"),
    Page("pages/shapes.py", "Shapes", ":material/straighten:", "transposed-convolution arithmetic"),
    Page("pages/latent.py", "Latent space", ":material/explore:", "walk between generated images"),
    Page(
        "pages/gan_basics.py",
        "GAN basics",
        ":material/scatter_plot:",
        "the simplest GAN, on 2-D points",
    ),
)
# The teaching lab: the chapter's and the paper's questions, asked of real runs.
LAB_PAGES = (
    Page(
        "pages/experiments.py",
        "Experiments",
        ":material/science:",
        "the chapter's exercises, one click each",
    ),
    Page("pages/compare.py", "Compare runs", ":material/compare:", "runs side by side"),
    Page(
        "pages/memorisation.py",
        "Is it memorising?",
        ":material/content_copy:",
        "does G copy its training images?",
    ),
    Page(
        "pages/arithmetic.py",
        "Checkable arithmetic",
        ":material/calculate:",
        "vector arithmetic, scored",
    ),
    Page(
        "pages/inside.py",
        "Inside the networks",
        ":material/visibility:",
        "the filters and feature maps",
    ),
    Page("pages/one_step.py", "One step, explained", ":material/footprint:", "a step taken apart"),
)
PAGES = CHAPTER_PAGES + LAB_PAGES


def page_setup() -> None:
    """Page config, the sidebar's page links and status: the first call of every page.

    The links are drawn here rather than by st.navigation because Streamlit runs a deep link
    that arrives before any session ran app.py as a bare pages/ script (its pre-st.navigation
    mode); drawing the sidebar from every page makes both modes look and work the same."""
    links.remember()  # before any widget corrects a shared link
    icon = str(ICON) if ICON.exists() else None  # a local file: no request leaves the machine
    st.set_page_config(page_title="DCGAN Playground", page_icon=icon, layout="wide")
    with st.sidebar:
        st.markdown("### DCGAN Playground")
        for p in CHAPTER_PAGES:
            st.page_link(p.path, label=p.title, icon=p.icon)
        st.caption("Teaching lab")
        for p in LAB_PAGES:
            st.page_link(p.path, label=p.title, icon=p.icon)
        st.divider()
        sidebar_status()


@st.fragment(run_every=5)
def sidebar_status() -> None:
    """The device and the job's progress, every five seconds on every page (the Train page
    shows the step every second; the sidebar is a glance, and 30 viewers pay for each rerun)."""
    job = current_job()
    if job is not None:
        s = shared_run(str(job.dir)).refresh()  # one read per REFRESH_S for every session
        st.caption(
            f"Training job: **{s.get('status')}**, step {s.get('step', 0):,}/"
            f"{s.get('total_steps') or 0:,}"
        )
    st.caption(f"Device: {device_line()}")

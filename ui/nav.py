"""The page list and what every page draws first: config, sidebar links, the job's status."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st

from dcgan.i18n import N_, _
from dcgan.i18n import number as i18n_number
from ui import i18n, links
from ui.device import device_line
from ui.jobs import current_job, shared_run, status_label

ICON = Path(__file__).resolve().parents[1] / "static" / "icon.png"


class Page(NamedTuple):
    """One page: app.py registers it with st.navigation, page_setup() links it, Home lists it
    under "Where to go next" with its teaser. A new page is its file plus one row below."""

    path: str
    title: str
    icon: str  # a Material icon: they ship inside Streamlit's frontend, so they work offline
    teaser: str = ""  # Home's one line about it ("" for Home itself)


CHAPTER_PAGES = (
    Page("pages/home.py", N_("Home"), ":material/home:"),
    Page(
        "pages/data.py", N_("Data"), ":material/photo_library:", N_("look at the training images")
    ),
    Page(
        "pages/train.py", N_("Train"), ":material/model_training:", N_("watch G and D learn, live")
    ),
    Page(
        "pages/activations.py",
        N_("Activations"),
        ":material/show_chart:",
        N_("why D uses LeakyReLU"),
    ),
    Page(
        "pages/shapes.py",
        N_("Shapes"),
        ":material/straighten:",
        N_("transposed-convolution arithmetic"),
    ),
    Page(
        "pages/latent.py",
        N_("Latent space"),
        ":material/explore:",
        N_("walk between generated images"),
    ),
    Page(
        "pages/gan_basics.py",
        N_("GAN basics"),
        ":material/scatter_plot:",
        N_("the simplest GAN, on 2-D points"),
    ),
)
# The teaching lab: the chapter's and the paper's questions, asked of real runs.
LAB_PAGES = (
    Page(
        "pages/experiments.py",
        N_("Experiments"),
        ":material/science:",
        N_("the chapter's exercises, one click each"),
    ),
    Page("pages/compare.py", N_("Compare runs"), ":material/compare:", N_("runs side by side")),
    Page(
        "pages/memorisation.py",
        N_("Is it memorising?"),
        ":material/content_copy:",
        N_("does G copy its training images?"),
    ),
    Page(
        "pages/arithmetic.py",
        N_("Checkable arithmetic"),
        ":material/calculate:",
        N_("vector arithmetic, scored"),
    ),
    Page(
        "pages/inside.py",
        N_("Inside the networks"),
        ":material/visibility:",
        N_("the filters and feature maps"),
    ),
    Page(
        "pages/one_step.py",
        N_("One step, explained"),
        ":material/footprint:",
        N_("a step taken apart"),
    ),
)
PAGES = CHAPTER_PAGES + LAB_PAGES


def page_setup() -> None:
    """Page config, the sidebar's page links and status: the first call of every page.

    The links are drawn here rather than by st.navigation because Streamlit runs a deep link
    that arrives before any session ran app.py as a bare pages/ script (its pre-st.navigation
    mode); drawing the sidebar from every page makes both modes look and work the same."""
    links.remember()  # before any widget corrects a shared link
    i18n.apply()  # before any text: every string below is drawn in the session's language
    icon = str(ICON) if ICON.exists() else None  # a local file: no request leaves the machine
    st.set_page_config(page_title="DCGAN Playground", page_icon=icon, layout="wide")
    with st.sidebar:
        st.markdown("### DCGAN Playground")
        for p in CHAPTER_PAGES:
            st.page_link(p.path, label=_(p.title), icon=p.icon)
        st.caption(_("Teaching lab"))
        for p in LAB_PAGES:
            st.page_link(p.path, label=_(p.title), icon=p.icon)
        st.divider()
        i18n.selector()
        sidebar_status()


@st.fragment(run_every=5)
def sidebar_status() -> None:
    """The device and the job's progress, every five seconds on every page (the Train page
    shows the step every second; the sidebar is a glance, and 30 viewers pay for each rerun)."""
    job = current_job()
    if job is not None:
        s = shared_run(str(job.dir)).refresh()  # one read per REFRESH_S for every session
        st.caption(
            _("Training job: **{status}**, step {step}/{total}").format(
                status=status_label(s.get("status")),
                step=i18n_number(s.get("step", 0)),
                total=i18n_number(s.get("total_steps") or 0),
            )
        )
    st.caption(_("Device: {device}").format(device=device_line()))

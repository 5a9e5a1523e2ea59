"""What several pages draw alike: the head of a page that shows run grids, and a signed
percentage for st.metric's delta."""

from __future__ import annotations

import streamlit as st

from dcgan.i18n import _, percent
from ui import nav


def grid_page_head(title: str, caption: str) -> None:
    """page_setup, then the title and its caption (N_ msgids, translated once page_setup has
    set the session's language), for a page that shows runs' sample grids."""
    nav.page_setup()
    # the grids are small PNGs a job wrote once; the browser scales them up without blurring
    st.html("<style>img {image-rendering: pixelated;}</style>")
    st.title(_(title))
    st.caption(_(caption))


def signed_percent(value: float) -> str:
    """+5 % / -3 % in the locale's way; the sign leads, so st.metric colours the delta."""
    return ("+" if value >= 0 else "-") + percent(abs(value))

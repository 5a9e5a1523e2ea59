"""What several pages draw alike: sample grids kept sharp when enlarged, and the head of a
page that shows run grids."""

from __future__ import annotations

import streamlit as st

from dcgan.i18n import _
from ui import nav


def pixelated() -> None:
    """The page's images enlarged with square pixels: the grids are small PNGs a job wrote
    once, and the browser would blur them as it scales them up."""
    st.html("<style>img {image-rendering: pixelated;}</style>")


def grid_page_head(title: str, caption: str) -> None:
    """page_setup, then the title and its caption (N_ msgids, translated once page_setup has
    set the session's language), for a page that shows runs' sample grids."""
    nav.page_setup()
    pixelated()
    st.title(_(title))
    st.caption(_(caption))

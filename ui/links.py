"""Shareable links: a page's settings live in its URL, so "look at this" can be sent as a link.

Each page binds its widgets to the URL (`bind="query-params"` with a key: the key is the
parameter). Streamlit then seeds a widget from a link and follows every change in the
browser's address bar, leaving out values at their defaults. A value it cannot use (garbage,
out of range, an option that no longer exists) it drops or clamps without a word; share() says
so, and offers the page's current link to copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

import streamlit as st

from dcgan.i18n import _

COPY = "copy_link"  # the Copy link popover's open state (one per page run)
RAW = "_links_raw"  # dict[str, list[str]]: this run's query parameters as the link gave them


def remember() -> None:
    """Keep the query parameters as they arrived, before any widget corrects them: the first
    call of every page run (nav.page_setup)."""
    qp = st.query_params
    st.session_state[RAW] = {k: qp.get_all(k) for k in qp}


def _same(raw: list[str], value) -> bool:
    """Whether the link's text means the value a widget holds (a default is left out of the
    URL, so a link that spells out a default is honoured without being kept)."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    if len(raw) != len(values):
        return False
    for text, v in zip(raw, values, strict=True):
        if isinstance(v, bool):
            ok = text.lower() == str(v).lower()
        elif isinstance(v, int | float):
            try:
                ok = float(text) == float(v)
            except ValueError:
                ok = False
        else:
            ok = text == str(v)
        if not ok:
            return False
    return True


def ignored(keys: Iterable[str]) -> list[tuple[str, str, str]]:
    """(parameter, the link's value, what the page uses instead) for each of `keys` whose
    widget could not take the link's value. Each parameter is judged once per page run, after
    its widget has been drawn; one whose widget is not on screen (a closed tab) waits."""
    raw = st.session_state.get(RAW, {})
    out = []
    for key in keys:
        if key not in raw or key not in st.session_state:
            continue
        given = raw.pop(key)
        now = st.query_params.get_all(key)
        if now == given or _same(given, st.session_state[key]):
            continue
        out.append((key, ", ".join(given), ", ".join(now) if now else _("its default")))
    return out


def link() -> str:
    """This page's link with its current settings (the browser's address, query included)."""
    qp = st.query_params
    query = urlencode([(k, v) for k in qp for v in qp.get_all(k)])
    base = st.context.url or ""
    return f"{base}?{query}" if query else base


def note(keys: Iterable[str]) -> None:
    """One note naming each parameter of the link that could not be used, if any. Call it
    after the widgets bound to `keys`."""
    bad = ignored(keys)
    if bad:
        items = _("; ").join(
            _("`{param}={given}` (using {now})").format(param=k, given=given, now=now)
            for k, given, now in bad
        )
        st.info(
            _("This link had settings the page cannot use, so it uses its own: {items}.").format(
                items=items
            ),
            icon=":material/link_off:",
        )


def share(keys: Iterable[str], where=None) -> None:
    """note(keys), and a "Copy link" popover holding the page's link. Call it after the
    widgets bound to `keys`."""
    with where if where is not None else st.container():
        note(keys)
        # made when opened: the browser's address then holds every change (a rerun that a
        # widget's move starts still carries the address from before the move)
        box = st.popover(
            _("Copy link"), icon=":material/link:", type="tertiary", on_change="rerun", key=COPY
        )
        if box.open:
            with box:
                # a link has no spaces to wrap at: break it anywhere, so all of it shows
                st.html(
                    "<style>[data-testid='stPopoverBody'] pre * "
                    "{word-break: break-all; white-space: pre-wrap; width: auto;}</style>"
                )
                st.code(link(), language=None, wrap_lines=True)
                st.caption(
                    _(
                        "Whoever opens this link sees this page with these settings (those at "
                        "their defaults are left out). The button at the right of the box "
                        "copies it."
                    )
                )

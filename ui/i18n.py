"""The session's language: `?lang=` in the link, else the sidebar's choice, else the browser's
Accept-Language; and the CSS that draws Chinese with the font the app ships.

dcgan.i18n translates; this module only decides which language a Streamlit session speaks.
Streamlit runs each rerun (and each fragment) in a fresh thread, so the choice lives in the
session state and dcgan.i18n asks for it through the resolver registered below.
"""

from __future__ import annotations

import streamlit as st

from dcgan import i18n
from dcgan.i18n import LANGUAGES

KEY = "lang"  # session state: the code (a LANGUAGES key) this session speaks
PICK = "lang_pick"  # the sidebar selector's own key
URL_CODE = {"pt_BR": "pt-BR", "zh_CN": "zh"}  # how a link spells a code (?lang=pt-BR)
# Han characters and CJK punctuation in "Source Sans", Streamlit's font family, from a subset
# of Noto Sans CJK SC served by the app (static/; `make i18n` writes it): the browser takes
# these glyphs from it, in the page and in every plotly chart, with no system CJK font. Every
# language needs it: the menu names Chinese on every page
# The face claims every weight and both styles: a face that left the italic style out drew
# the health hints' italic figures as boxes (Chromium picks a face by weight and style before
# it looks at the characters); CJK bold is drawn at the regular weight.
_FACE = """@font-face{{font-family:"Source Sans";font-weight:100 900;font-style:{style};
src:url("app/static/noto-sans-sc-subset.woff2") format("woff2");
unicode-range:U+3000-303F,U+4E00-9FFF,U+FF00-FFEF;}}"""
CJK_CSS = "<style>" + _FACE.format(style="normal") + _FACE.format(style="italic") + "</style>"


def _session_language() -> str | None:
    """The language this Streamlit session chose (None outside a session)."""
    return st.session_state.get(KEY)


i18n.set_resolver(_session_language)


def url_code(lang: str) -> str:
    """A code as links spell it."""
    return URL_CODE.get(lang, lang)


def apply() -> str:
    """Settle this session's language for this run: the first call of every page."""
    ss = st.session_state
    from_link = i18n.parse(st.query_params.get("lang"))
    if from_link:
        ss[KEY] = from_link
    elif KEY not in ss:
        ss[KEY] = i18n.negotiate(st.context.headers.get("Accept-Language"))
    if not from_link and ss[KEY] != i18n.DEFAULT:
        # the address bar says the language too: the widgets' bound parameters hold their
        # labels in it, so a copied link means the same settings only in the same language
        st.query_params["lang"] = url_code(ss[KEY])
    return ss[KEY]


def _picked() -> None:
    """The selector changed: speak it, and put it in the link so the link can be shared."""
    st.session_state[KEY] = st.session_state[PICK]
    st.query_params["lang"] = url_code(st.session_state[KEY])


def selector() -> None:
    """The sidebar's language menu, each language in its own name."""
    lang = st.session_state.get(KEY, i18n.DEFAULT)
    st.session_state[PICK] = lang
    st.selectbox(
        i18n.MENU_LABEL,
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=PICK,
        on_change=_picked,
    )
    st.html(CJK_CSS)

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
# Chinese in "Source Sans", Streamlit's font family, from the font subset the app serves at
# app/static/: every language needs it, since the menu names Chinese on every page
CJK_CSS = (
    "<style>" + i18n.cjk_font_css("Source Sans", f"app/static/{i18n.FONT_SUBSET.name}") + "</style>"
)


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

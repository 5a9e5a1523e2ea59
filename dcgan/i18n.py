"""Translations for every UI: gettext catalogs, the language of the moment, and locale numbers.

The catalogs are gettext's own: dcgan/locale/<code>/LC_MESSAGES/dcgan.po (edited) and .mo
(compiled), managed with Babel (`make i18n`; dcgan/locale/__main__.py). The app, the Space and
the engine's user-facing messages all mark their strings with `_()` (or `N_()` for a constant
translated where it is shown), so one catalog serves both UIs. The CLI never chooses a
language, so it stays English.

Which language is "now" depends on the UI: the Space sets it per request (`use`); Streamlit
runs every rerun and fragment in a fresh thread, so the app registers a resolver that reads
the session's choice (`set_resolver`) instead. Strings are translated when they are drawn,
never at import, so one server process speaks every visitor's language at once.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path

DOMAIN = "dcgan"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# code -> the language's own name, as the selector shows it. The codes are gettext's folder
# names and Babel's locale ids: Brazilian Portuguese as d2l's pt edition, Simplified Chinese
# as the zh edition.
LANGUAGES = {
    "en": "English",
    "fr": "Français",
    "pt_BR": "Português (Brasil)",
    "zh_CN": "简体中文",
}
DEFAULT = "en"  # the language the code is written in: every msgid is English
# the language menu's label, in every language at once: whoever cannot read the page can still
# find the menu (so it is no msgid, and every page shows its Chinese)
MENU_LABEL = "Language · Langue · Idioma · 语言"

_current: ContextVar[str | None] = ContextVar("dcgan_language", default=None)
_resolver: list[Callable[[], str | None]] = []  # at most one: the UI's "this session's language"


def parse(code: str | None) -> str | None:
    """A language code as a browser or a link spells it ('pt-br', 'zh-Hans-CN', 'fr-CA') ->
    one of LANGUAGES, or None when it is none of them."""
    if not code:
        return None
    parts = code.strip().replace("_", "-").split("-")
    lang = parts[0].lower()
    if lang == "pt":
        return "pt_BR"  # the one Portuguese catalog: d2l's edition is Brazilian
    if lang == "zh":
        # Traditional-script variants have no catalog; Simplified is the closer reading
        return "zh_CN"
    return lang if lang in LANGUAGES else None


def negotiate(accept_language: str | None) -> str:
    """The best of LANGUAGES for an HTTP Accept-Language header, by its q-values; DEFAULT when
    none fits."""
    ranked = []
    for i, item in enumerate((accept_language or "").split(",")):
        code, _, params = item.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranked.append((-q, i, code))
    for neg_q, _, code in sorted(ranked):
        found = parse(code)
        if found and neg_q < 0:  # q=0 means "not this one"
            return found
    return DEFAULT


def set_resolver(fn: Callable[[], str | None] | None) -> None:
    """Where the language comes from when no `use` is in force (a UI's session state)."""
    _resolver.clear()
    if fn is not None:
        _resolver.append(fn)


def current() -> str:
    """The language of the moment: `use`'s, else the resolver's, else DEFAULT."""
    lang = _current.get()
    if lang is None and _resolver:
        try:
            lang = _resolver[0]()
        except Exception:  # outside a UI session (a worker thread): the default, not a crash
            lang = None
    return lang if lang in LANGUAGES else DEFAULT


@contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Speak `lang` (any spelling parse() knows) inside the block; DEFAULT when unknown."""
    token = _current.set(parse(lang) or DEFAULT)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of `lang` (English needs none: its msgids are the text)."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str) -> str:
    """`message` in the language of the moment."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for n, in the language of the moment."""
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for the catalogs without translating it: `_()` it where it is shown."""
    return message


def babel_locale(lang: str | None = None):
    """The Babel locale of `lang` (default: the current language)."""
    from babel import Locale

    return Locale.parse(lang or current())


def number(value: float, digits: int | None = None) -> str:
    """A number as the current language writes it ('1,234.5', '1 234,5'); `digits` fixes the
    decimals, None keeps up to three."""
    from babel.numbers import format_decimal

    fmt = "#,##0.###" if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt, locale=babel_locale())


def percent(value: float, digits: int = 0, signed: bool = False) -> str:
    """A fraction (0.25) as the current language writes a percentage ('25%', '25 %'); signed,
    a change leads with its sign ('+5 %', '-3 %'), so st.metric colours it as a delta."""
    from babel.numbers import format_percent

    if signed:
        return ("+" if value >= 0 else "-") + percent(abs(value), digits)
    loc = babel_locale()
    # the language's own pattern (French puts a space before %), with `digits` decimals
    pattern = loc.percent_formats[None].pattern
    if digits:  # "#,##0 %" has one 0: the units digit, where the decimals follow
        pattern = pattern.replace("0", "0." + "0" * digits, 1)
    return format_percent(value, format=pattern, locale=loc)


def listing(items, style: str = "standard") -> str:
    """Items as the current language lists them in a sentence: 'a, b, and c' ('a、b和c'), or
    with style "or" the alternatives 'a, b, or c' ('a、b或c')."""
    from babel.lists import format_list

    return format_list([str(i) for i in items], style=style, locale=babel_locale())


@lru_cache(maxsize=8)
def font_path(lang: str) -> str | None:
    """A font file that draws `lang`'s script, for text in PNG and GIF exports: Noto Sans CJK
    SC from the mplfonts package for Chinese (none of Pillow's fonts has Han characters);
    None elsewhere, where Pillow's own font draws Latin text."""
    if lang != "zh_CN":
        return None
    try:
        import mplfonts
    except ImportError:
        return None
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    return str(path) if path.exists() else None


# The subset of Noto Sans CJK SC that browsers draw Chinese with (`make i18n` cuts it to the
# characters the catalogs use): the app serves it from static/, the Space beside its app.py
FONT_SUBSET = Path(__file__).resolve().parents[1] / "static" / "noto-sans-sc-subset.woff2"
# Han characters, CJK punctuation and full-width forms: the only ones the subset draws
CJK_RANGE = "U+3000-303F,U+4E00-9FFF,U+FF00-FFEF"


def cjk_font_css(family: str, url: str) -> str:
    """@font-face rules that add FONT_SUBSET (at `url`) to a UI's font `family` for CJK
    characters only, so every page and chart draws Chinese with no system CJK font. They claim
    every weight and both styles: Chromium picks a face by weight and style before it looks at
    the characters, and a face without the italic style left italic Chinese as boxes."""
    return "".join(
        f'@font-face{{font-family:"{family}";font-weight:100 900;font-style:{style};'
        f'src:url("{url}") format("woff2");unicode-range:{CJK_RANGE};}}'
        for style in ("normal", "italic")
    )

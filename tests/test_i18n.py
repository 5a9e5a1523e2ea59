"""The app speaks English, French, Brazilian Portuguese and Simplified Chinese: the language is
chosen as a visitor would choose it, every catalog holds every string the code uses, and every
page walked in each language raises nothing and leaves no English behind."""

from __future__ import annotations

import io

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from dcgan import i18n
from dcgan.locale.__main__ import po_path, problems, translated
from tests.i18n_walk import english_words, open_in, page_texts
from ui.i18n import url_code
from ui.nav import PAGES

PAGE_NAMES = [p.path.removeprefix("pages/").removesuffix(".py") for p in PAGES]
# every language the app offers, as a shared link names it (?lang=pt-BR): a new language is
# walked as soon as dcgan.i18n.LANGUAGES lists it
LINK_CODES = {lang: url_code(lang) for lang in i18n.LANGUAGES}


def test_a_browser_header_or_a_link_picks_the_language_and_anything_else_is_english():
    """Accept-Language by its q-values; the spellings links and browsers use; English default."""
    assert i18n.negotiate("fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert i18n.negotiate("de-DE,de;q=0.9,pt-BR;q=0.8,en;q=0.5") == "pt_BR"
    assert i18n.negotiate("zh-Hans-CN,zh;q=0.9") == "zh_CN"
    assert i18n.negotiate("en;q=0.3,fr;q=0.9") == "fr"
    assert i18n.negotiate("fr;q=0,de") == "en"  # q=0 refuses French
    assert i18n.negotiate(None) == i18n.negotiate("") == i18n.negotiate("ja,ko") == "en"
    assert [i18n.parse(c) for c in ("pt", "pt-br", "zh-TW", "FR", "xx", "")] == [
        "pt_BR",
        "pt_BR",
        "zh_CN",
        "fr",
        None,
        None,
    ]


def test_messages_and_numbers_follow_the_language_and_the_cli_stays_english():
    """One process speaks each caller's language at once; nothing chosen means English."""
    assert i18n.current() == "en" and i18n._("Home") == "Home"
    with i18n.use("fr"):
        assert i18n._("Home") != "Home"
        assert i18n.number(1234.5, 1) == "1\u202f234,5"  # a narrow no-break space, as in French
        with i18n.use("zh"):
            assert i18n.current() == "zh_CN" and i18n._("Home") != i18n._("Train")
        assert i18n.current() == "fr"
    with i18n.use("pt-BR"):
        assert i18n.number(1234.5, 1) == "1.234,5"
        assert i18n.listing(["D", "G", "EMA"]) == "D, G e EMA"
    with i18n.use("zh"):
        assert i18n.listing(["D", "G"]) == "D和G"  # no Latin comma in a Chinese sentence
    assert i18n.number(1234.5, 1) == "1,234.5"


def test_every_catalog_holds_every_string_the_code_uses():
    """`make i18n` extracts the marked strings; a string without a translation fails here."""
    missing = problems()
    assert not missing, f"{len(missing)} strings to translate (make i18n): " + "\n".join(
        missing[:40]
    )


@pytest.mark.parametrize("lang", translated())
def test_the_compiled_catalogs_are_the_po_files(lang):
    """The .mo the app reads says exactly what the .po says: no stale compile."""
    with open(po_path(lang), "rb") as f:
        po = read_po(f, locale=lang)
    fresh = io.BytesIO()
    write_mo(fresh, po, use_fuzzy=False)
    fresh.seek(0)
    with open(po_path(lang).with_suffix(".mo"), "rb") as f:
        shipped = read_mo(f)

    def messages(cat) -> dict:
        """msgid -> msgstr, plural forms as tuples."""
        return {
            tuple(m.id) if isinstance(m.id, list | tuple) else m.id: (
                tuple(m.string) if isinstance(m.string, list | tuple) else m.string
            )
            for m in cat
            if m.id
        }

    assert messages(shipped) == messages(read_mo(fresh))


# English is every other page test's language (test_app_pages, test_lab_pages, ...)
@pytest.mark.parametrize("lang", [lang for lang in LINK_CODES if lang != i18n.DEFAULT])
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_every_page_speaks_each_language_with_no_english_left(page, lang, tmp_path, monkeypatch):
    """Opened by a link with ?lang=, the page runs cleanly and shows no English-only word
    (tests/i18n_walk.py: ALLOWED lists the terms every language keeps)."""
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = open_in(page, LINK_CODES[lang])
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["lang"] == lang
    left = english_words(page_texts(at), lang)
    assert not left, f"{page} in {lang}: " + "; ".join(
        f"{w} in {t[:80]!r}" for t, w in list(left.items())[:10]
    )


def test_the_sidebar_switches_the_language_and_puts_it_in_the_link(tmp_path, monkeypatch):
    """A teacher picks Français: the page redraws in French and the link carries ?lang=fr, so
    a student who opens the shared link sees French; a link's language wins over the default."""
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = open_in("home", "")
    assert at.session_state["lang"] == "en" and at.title[0].value == "DCGAN Playground"
    links_before = [p.proto.label for p in at.get("page_link")]
    at.selectbox(key="lang_pick").set_value("zh_CN").run()
    assert not at.exception
    assert at.session_state["lang"] == "zh_CN" and at.query_params["lang"] == "zh"
    links_after = [p.proto.label for p in at.get("page_link")]
    assert len(links_after) == len(links_before) and links_after != links_before
    assert i18n.translations("zh_CN").gettext("Home") in links_after

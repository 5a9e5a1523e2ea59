"""The Space speaks the visitor's browser language: its layout through gr.I18n (the browser picks
the language) and its events' text by the request's Accept-Language, both from the app's
catalogs, with no English left; an API client that sends no language gets English."""

from __future__ import annotations

import json

import gradio_client
import pytest
from gradio.i18n import I18nData
from gradio_client.exceptions import AppError

from tests.i18n_walk import english_words, plotly_texts
from tests.test_space import GENERATORS, TRAIN_STEPS, checkpoints, space  # noqa: F401 (fixtures)

# a browser's Accept-Language -> the catalog the Space answers from and gr.I18n's locale tag
BROWSERS = {
    "fr-FR,fr;q=0.9,en;q=0.5": ("fr", "fr"),
    "pt-BR,pt;q=0.9": ("pt_BR", "pt-BR"),
    "zh-CN,zh;q=0.9": ("zh_CN", "zh-CN"),
}
TEXT_PROPS = (
    "label",
    "value",
    "info",
    "placeholder",
    "headers",
    "x_title",
    "y_title",
    "color_title",
)


def layout_texts(demo, tag: str) -> list[str]:
    """Every static string of the layout as a browser with locale `tag` shows it: gr.I18n keys
    resolved through the translations the Space hands its launch."""
    table = demo.i18n_instance.translations[tag]

    def show(v) -> list[str]:
        if isinstance(v, I18nData):
            return [table[v.key]]
        if isinstance(v, dict) and v.get("__type__") == "translation_metadata":
            return [table[v["key"]]]
        if isinstance(v, str):
            if v.startswith("__i18n__"):
                return show(json.loads(v[len("__i18n__") :]))
            return [v]
        if isinstance(v, list | tuple):
            return [s for x in v for s in show(x)]
        return []

    out = []
    for comp in demo.get_config_file()["components"]:
        props = comp.get("props", {})
        # a choice is (label, value): the label is shown; a value is a name (a generator, a
        # dataset) kept as it is in every language
        out += [
            s
            for choice in props.get("choices") or []
            if choice[0] != choice[1]
            for s in show(choice[0])
        ]
        for key in TEXT_PROPS:
            if key == "value" and comp.get("type") not in ("markdown", "button", "downloadbutton"):
                continue  # a widget's value is data (a seed, a group), not text
            out += show(props.get(key))
    return out


def test_every_language_of_the_app_has_its_browser_tags():
    """A language added to dcgan.i18n.LANGUAGES is one the Space can be asked for too."""
    from dcgan.i18n import LANGUAGES
    from space.lang import BROWSER_LOCALES

    assert set(BROWSER_LOCALES.values()) == set(LANGUAGES)


def test_the_space_serves_the_font_its_css_draws_chinese_with(space):  # noqa: F811
    """A visitor with no CJK font still reads Chinese: the page's CSS adds the shipped subset
    to the theme's font for Han characters, and the Space serves that file itself."""
    import re
    import urllib.request

    _app, url = space
    with urllib.request.urlopen(url + "config") as r:
        css = json.load(r)["css"]
    assert "unicode-range:U+3000-303F,U+4E00-9FFF" in css
    font_url = re.search(r'src:url\("([^"]+)"\)', css).group(1)
    with urllib.request.urlopen(url + font_url) as r:
        assert r.read(4) == b"wOF2"


@pytest.mark.parametrize("accept", list(BROWSERS))
def test_the_layout_shows_no_english_in_the_browsers_language(space, accept):  # noqa: F811
    """Every label, tab, button and paragraph of the layout has its translation for the
    locale Gradio's frontend picks, and none leaves English behind."""
    app, _url = space
    lang, tag = BROWSERS[accept]
    texts = layout_texts(app.demo, tag)
    assert len(texts) > 50
    left = english_words(texts, lang)
    assert not left, "; ".join(f"{w} in {t[:80]!r}" for t, w in list(left.items())[:10])
    # the untranslated tags a browser may send map to the same text
    short = tag.split("-")[0]
    assert app.demo.i18n_instance.translations[short] == app.demo.i18n_instance.translations[tag]


@pytest.mark.parametrize("accept", list(BROWSERS))
def test_events_answer_in_the_requests_language(space, accept):  # noqa: F811
    """The generator's card, the shape calculator, the LeakyReLU chart and an error message
    come back in the browser's language; the same calls without a header are English."""
    app, url = space
    lang, _tag = BROWSERS[accept]
    c = gradio_client.Client(url, verbose=False, headers={"Accept-Language": accept})
    name = next(iter(GENERATORS))
    info = c.predict(
        name, 0, 4, 1, 2, "lerp", 3, 0.5, 0, "16", "0", "1", "2", 1, -1, 1, 0.0,
        api_name="/model",
    )[0]  # fmt: skip
    shape_md, _figure = c.predict("ConvTranspose2d", 4, 4, 2, 1, 0, 1, api_name="/shapes")
    relu = c.predict(0.2, True, api_name="/relu")
    figure = json.loads(relu["plot"]) if isinstance(relu, dict) else {}
    with pytest.raises(AppError) as bad:
        c.predict(name, 0, 10_000, api_name="/sample")
    # the generator's name is a name (a file's), kept as it is in every language
    texts = [t.replace(name, "") for t in (info, shape_md, str(bad.value), *plotly_texts(figure))]
    left = english_words(texts, lang)
    assert not left, "; ".join(f"{w} in {t[:80]!r}" for t, w in list(left.items())[:10])

    english = gradio_client.Client(url, verbose=False)
    with pytest.raises(AppError, match="Number of samples"):
        english.predict(name, 0, 10_000, api_name="/sample")


def test_a_live_run_streams_its_status_in_the_browsers_language(space):  # noqa: F811
    """Train's status line, from loading to Done, in French for a French browser."""
    app, url = space
    c = gradio_client.Client(url, verbose=False, headers={"Accept-Language": "fr"})
    job = c.submit("shapes", 30, api_name="/train")
    job.result(timeout=300)
    lines = [o[0] for o in job.outputs() if isinstance(o[0], str)]
    assert lines and f"{TRAIN_STEPS}" in lines[-1]
    left = english_words(lines, "fr")
    assert not left, "; ".join(f"{w} in {t[:80]!r}" for t, w in list(left.items())[:10])

"""The Space's languages, from the app's gettext catalogs (dcgan.i18n): the static text of the
layout through gr.I18n, which the browser picks by its language, and each event's text (status
lines, errors, charts) in the language of the visitor's Accept-Language header.

gr.I18n translates only the layout's static strings, in the browser; whatever an event returns
is translated here, on the server, so each visitor's events speak their browser's language.
"""

from __future__ import annotations

import functools
import hashlib
import inspect

import gradio as gr

from dcgan import i18n

# Gradio's browser locale -> a catalog: the exact tags browsers send, and their bare languages
BROWSER_LOCALES = {"en": "en", "fr": "fr", "pt-BR": "pt_BR", "pt": "pt_BR", "zh-CN": "zh_CN"}
BROWSER_LOCALES["zh"] = "zh_CN"
I18N = gr.I18n()  # filled by finish() once the layout has named every string it shows
# the family font_css() declares for Chinese. It is a family of its own, listed after the
# theme's: Gradio declares Source Sans Pro at weights 400 and 600, and Chromium picks those
# exact faces before a CJK face added to the same family, drawing boxes
CJK_FAMILY = "DCGAN CJK"
if i18n.FONT_SUBSET.exists():  # served as it is, from where the build put it
    gr.set_static_paths([i18n.FONT_SUBSET])
_used: dict[str, tuple[str, dict]] = {}  # key -> (msgid, format values)


def T(message: str, **values) -> gr.i18n.I18nData:  # noqa: N802 (gettext's marker names)
    """A static string of the layout, translated in the browser: `message` is a catalog msgid
    (extracted by `make i18n`), formatted with `values` in each language."""
    key = "s" + hashlib.sha1(repr((message, sorted(values.items()))).encode()).hexdigest()[:12]
    _used[key] = (message, values)
    return I18N(key)


def finish() -> gr.I18n:
    """Fill I18N with every language's text of the strings T() named: call after the layout."""
    for tag, lang in BROWSER_LOCALES.items():
        with i18n.use(lang):
            I18N.translations[tag] = {
                key: i18n._(msg).format(**values) for key, (msg, values) in _used.items()
            }
    return I18N


def font_css() -> str:
    """CSS that draws Chinese with the font subset the Space ships, so a visitor whose machine
    has no CJK font still reads it (nothing is fetched from another host)."""
    if not i18n.FONT_SUBSET.exists():
        return ""
    face = i18n.cjk_font_css(CJK_FAMILY, f"gradio_api/file={i18n.FONT_SUBSET}")
    # the theme's font stack (Gradio's default) with CJK_FAMILY after its first font
    stack = f"'Source Sans Pro', '{CJK_FAMILY}', ui-sans-serif, system-ui, sans-serif"
    return face + f":root, .dark {{ --font: {stack} !important; }}"


def language(request: gr.Request | None) -> str:
    """The catalog for a request: its Accept-Language (an API client sends none: English)."""
    headers = getattr(request, "headers", None) or {}
    return i18n.negotiate(headers.get("accept-language"))


def speaks(fn):
    """`fn` as an event that answers in the visitor's language: Gradio hands the wrapper the
    request (it asks for one), and `fn` runs under dcgan.i18n.use(that language). A generator
    is driven one item at a time, each inside the language, since Gradio may resume it on
    another thread."""
    sig = inspect.signature(fn)
    if any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
        raise TypeError(
            f"speaks({fn.__name__}): name its parameters (no *args), so the request can follow them"
        )
    wants = "request" in sig.parameters
    # positional parameters of fn besides the request: more arguments than these means Gradio
    # put the request among them
    n_own = sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "request"
        for p in sig.parameters.values()
    )

    def split(args, kwargs):
        """The call's own arguments and the request Gradio passed the wrapper (by keyword or
        in the parameter's position, depending on how the event was wired)."""
        request = kwargs.pop("request", None)
        if request is None and args and isinstance(args[-1], gr.Request | type(None)):
            if len(args) > n_own:
                args, request = args[:-1], args[-1]
        if wants:
            kwargs["request"] = request
        return args, kwargs, request

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def run(*args, **kwargs):
            args, kwargs, request = split(args, kwargs)
            lang = language(request)
            with i18n.use(lang):
                gen = fn(*args, **kwargs)
            while True:
                with i18n.use(lang):
                    try:
                        item = next(gen)
                    except StopIteration:
                        return
                yield item

    else:

        @functools.wraps(fn)
        def run(*args, **kwargs):
            args, kwargs, request = split(args, kwargs)
            with i18n.use(language(request)):
                return fn(*args, **kwargs)

    # Gradio hands a request only to a positional parameter annotated gr.Request: the last one
    own = [p for p in sig.parameters.values() if p.name != "request"]
    positional = [p for p in own if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    request = inspect.Parameter(
        "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request
    )
    run.__signature__ = sig.replace(
        parameters=[*positional, request, *(p for p in own if p not in positional)]
    )
    run.__annotations__ = {**getattr(fn, "__annotations__", {}), "request": gr.Request}
    return run

"""What a page shows, as text, and which of its words are English: the i18n tests' page walker.

`page_texts` opens a page under AppTest in a language (`?lang=`, as a shared link would) and
collects every string a visitor reads: markdown, captions, titles, alerts, widget labels, help
and options, tab and expander labels, metrics, table headers, and the plotly charts' titles,
axes, legends and annotations. `english_words` names the words among them that only English
uses: a word of a catalog msgid (or a common English word) that the language's own catalog
never uses and ALLOWED does not list.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from google.protobuf.json_format import MessageToDict

from dcgan.i18n import LANGUAGES, parse
from dcgan.locale.__main__ import extract, po_path

APP = Path(__file__).resolve().parents[1] / "app.py"
# Terms every language writes as English does: names, units, the maths' symbols and the
# datasets' own names. A word here is never counted as an English leftover.
ALLOWED = {
    "dcgan", "gan", "gans", "d2l", "lerp", "slerp", "pytorch", "adam", "batchnorm", "relu",
    "leakyrelu", "tanh", "sigmoid", "bce", "lsgan", "wgan", "hinge", "swd", "ema", "cpu",
    "gpu", "cuda", "mps", "bf16", "fp32", "fp16", "amx", "avx", "png", "gif", "zip", "pokemon",
    "mnist", "fashion", "anime", "radford", "goodfellow", "safetensors", "tensorboard", "kl",
    "js", "url", "nz", "ngf", "ndf", "lr", "lab", "gradio", "streamlit", "huggingface", "ms",
    "px", "onednn", "diffaugment", "kaggle", "learnopencv", "github", "http", "https", "www",
    "detach",
    # the presets' names: identifiers the CLI (--preset paper) and shared links use as they are
    "paper", "classroom",
    # maths and units written the same in every language
    "max", "min", "nats",
}  # fmt: skip
# Words so common in English prose that text holding them was left untranslated, whether or
# not a msgid happens to use them.
COMMON = {
    "the", "and", "with", "from", "this", "that", "when", "which", "your", "are", "not",
    "what", "into", "each", "here", "there", "its", "has", "have", "will", "can", "only",
    "you", "for", "how", "why", "shows", "press", "click", "train", "training", "images",
    "image", "step", "steps", "loss", "generator", "discriminator", "noise", "seed", "real",
    "fake",
}  # fmt: skip
# text a translator never touches: code spans, URLs, LaTeX, HTML tags and entities
VERBATIM = re.compile(
    r"(?s)<style>.*?</style>|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|https?://\S+|<[^>]+>|&\w+;|\([^)]*\.py\)"
)
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
TEXT_KEYS = {"body", "label", "help", "placeholder", "options", "title", "caption", "delta"}


def _collect(obj, out: list[str], key: str = "") -> None:
    """Every string under a text key of a proto-as-dict (recursively)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "spec" and isinstance(v, str) and v.lstrip().startswith("{"):
                out.extend(plotly_texts(json.loads(v)))  # a plotly figure, as JSON
            elif k == "spec" and isinstance(v, str):  # a graphviz diagram: its labels
                out.extend(re.findall(r'label="((?:[^"\\]|\\.)*)"', v))
            else:
                _collect(v, out, k)
    elif isinstance(obj, list):
        for v in obj:
            _collect(v, out, key)
    elif isinstance(obj, str) and key in TEXT_KEYS:
        out.append(obj)


def plotly_texts(fig: dict) -> list[str]:
    """A figure's visible words: title, axis titles, legend names, annotations."""
    out = []
    layout = fig.get("layout", {})
    for v in layout.values():
        if isinstance(v, dict) and isinstance(v.get("title"), dict | str):
            t = v["title"]
            out.append(t.get("text", "") if isinstance(t, dict) else t)
    t = layout.get("title")
    if t:
        out.append(t.get("text", "") if isinstance(t, dict) else t)
    out += [a.get("text", "") for a in layout.get("annotations", [])]
    out += [d.get("name", "") for d in fig.get("data", []) if d.get("showlegend", True)]
    return [str(s) for s in out if s]


def page_texts(at) -> list[str]:
    """Every string the page shows (see the module docstring)."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            _collect(MessageToDict(proto), out)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for df in at.get("arrow_data_frame"):
        try:
            out += [str(c) for c in df.value.columns]
        except Exception:  # a table AppTest cannot decode has no headers to judge
            pass
    return out


@cache
def vocabulary(lang: str) -> frozenset[str]:
    """Lower-cased words of `lang`'s catalog translations."""
    with open(po_path(lang), "rb") as f:
        cat = read_po(f, locale=lang)
    words = set()
    for m in cat:
        strings = m.string if isinstance(m.string, tuple) else (m.string or "",)
        for s in strings:
            words |= {w.lower() for w in WORD.findall(VERBATIM.sub(" ", s))}
    return frozenset(words)


@cache
def english_vocabulary() -> frozenset[str]:
    """Lower-cased words of every msgid the code marks, and COMMON."""
    words = set(COMMON)
    for m in extract():
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        for s in ids:
            words |= {w.lower() for w in WORD.findall(VERBATIM.sub(" ", s or ""))}
    return frozenset(words)


def english_words(texts: list[str], lang: str) -> dict[str, list[str]]:
    """text -> its English-only words, for each text among `texts` that has any."""
    assert lang in LANGUAGES and lang != "en"
    english = english_vocabulary() - vocabulary(lang) - ALLOWED
    found = {}
    for text in texts:
        words = [w for w in WORD.findall(VERBATIM.sub(" ", text)) if w.lower() in english]
        if words:
            found[text] = words
    return found


def open_in(page: str, lang: str, timeout: float = 120):
    """pages/<page>.py under AppTest, opened by a link that says ?lang=<lang>."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.query_params["lang"] = lang
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py").run()
    return at


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.i18n_walk PAGE LANG`: a page's English leftovers, for translators."""
    import sys

    page, code = (argv or sys.argv[1:])[:2]
    lang = parse(code)
    at = open_in(page, code)
    for e in at.exception:
        print("EXCEPTION:", e.value)
    bad = english_words(page_texts(at), lang)
    for text, words in bad.items():
        print(f"{words}: {text[:160]!r}")
    print(f"{len(bad)} texts with English words on {page} in {lang}")
    return 1 if bad or at.exception else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The catalogs' tool (`make i18n`, or `python -m dcgan.locale COMMAND`), built on Babel.

- `update`: extract every marked string of the app, the Space and the engine into
  dcgan.pot, merge it into each language's dcgan.po (new strings arrive untranslated, gone
  ones are dropped), and compile the .mo files the app reads.
- `check`: exit 1 naming each string the code uses that a catalog lacks or leaves
  untranslated (the test suite runs the same check).
- `font`: the Chinese font subset the app serves (static/), only the characters the zh
  catalog uses, cut from the Noto Sans CJK SC that the mplfonts package ships (`update` runs
  it too).
- `todo LANG [PATH ...]`: the strings a language lacks, as JSON to fill in.
- `fill LANG FILE.json`: set translations from a {msgid: msgstr} file, then compile; several
  translators may fill at once (the catalogs are locked while written).
- `compile`: the .mo files from the .po files.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from dcgan.i18n import (
    DEFAULT,
    DOMAIN,
    FONT_SUBSET,
    LANGUAGES,
    LOCALE_DIR,
    MENU_LABEL,
    font_path,
)

ROOT = LOCALE_DIR.parents[1]
# where user-facing strings live: the app, its pages and helpers, the Space and the engine
SOURCES = ("app.py", "pages", "ui", "space", "dcgan")
# _ and N_ everywhere; T marks the Space's static labels (gr.I18n keys, space/app.py)
KEYWORDS = {"_": None, "N_": None, "T": None, "ngettext": (1, 2)}
SKIP = ("dcgan/locale", "space/zerogpu_fake.py", "space/builder_check.py", "space/build.py")
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
STAMP = datetime(2026, 12, 4, tzinfo=UTC)


def po_path(lang: str) -> Path:
    """A language's editable catalog."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every marked string in SOURCES, with where it is used."""
    cat = Catalog(project="DCGAN Playground", domain=DOMAIN, charset="utf-8", creation_date=STAMP)
    for src in SOURCES:
        path = ROOT / src
        found = (
            extract_from_dir(
                path, [("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",)
            )
            if path.is_dir()
            else ((str(path.name), *m) for m in extract_from_file("python", path, KEYWORDS))
        )
        for item in found:
            filename, lineno, message, comments, context = item[:5]
            rel = f"{src}/{filename}" if path.is_dir() else src
            if any(rel.startswith(s) for s in SKIP) or not message:
                continue
            cat.add(message, None, [(rel, lineno)], auto_comments=comments, context=context)
    return cat


@contextmanager
def locked():
    """Hold the catalogs' lock: one writer at a time."""
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCALE_DIR / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read(lang: str) -> Catalog:
    """A language's catalog (empty when it has none yet)."""
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN, project="DCGAN Playground", charset="utf-8")
    with open(path, "rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def save(lang: str, cat: Catalog) -> None:
    """Write a language's .po (sorted, wrapped at 100 like the code) and its compiled .mo."""
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    cat.fuzzy = False  # the header: a fuzzy one would be left out of the .mo, charset and all
    # fixed dates: `make i18n` on an unchanged tree leaves the catalogs byte for byte as they are
    cat.creation_date = cat.revision_date = STAMP
    buf = io.BytesIO()
    write_po(buf, cat, width=100, sort_output=True, omit_header=False, ignore_obsolete=True)
    path.write_bytes(buf.getvalue())
    mo = io.BytesIO()
    write_mo(mo, cat, use_fuzzy=False)
    path.with_suffix(".mo").write_bytes(mo.getvalue())


def translated() -> list[str]:
    """The languages with a catalog: every one but the source language."""
    return [lang for lang in LANGUAGES if lang != DEFAULT]


def update() -> Catalog:
    """Extract, write the template, merge it into every catalog, compile."""
    template = extract()
    buf = io.BytesIO()
    write_po(buf, template, width=100, sort_output=True, omit_header=True)
    with locked():
        TEMPLATE.write_bytes(buf.getvalue())
        for lang in translated():
            cat = read(lang)
            cat.update(template, no_fuzzy_matching=True)
            cat.obsolete.clear()
            save(lang, cat)
    return template


def problems(template: Catalog | None = None) -> list[str]:
    """One line per string the code uses that a catalog lacks or leaves untranslated/fuzzy."""
    template = template or extract()
    out = []
    for lang in translated():
        cat = read(lang)
        for msg in template:
            if not msg.id:
                continue
            have = cat.get(msg.id, context=msg.context)
            where = ", ".join(f"{f}:{n}" for f, n in msg.locations[:2])
            if have is None:
                out.append(f"{lang}: missing {msg.id!r} ({where})")
            elif not have.string or (isinstance(have.string, tuple) and not all(have.string)):
                out.append(f"{lang}: untranslated {msg.id!r} ({where})")
            elif have.fuzzy:
                out.append(f"{lang}: fuzzy {msg.id!r} ({where})")
    return out


def font(lang: str = "zh_CN") -> Path | None:
    """Write FONT_SUBSET: the characters `lang`'s catalog uses, from dcgan.i18n.font_path."""
    from fontTools import subset

    source = font_path(lang)
    if source is None:
        print(f"no font for {lang} (is mplfonts installed?); the subset is left as it is")
        return None
    text = "".join(
        "".join(m.string) if isinstance(m.string, tuple) else (m.string or "") for m in read(lang)
    )
    text += MENU_LABEL + "".join(LANGUAGES.values())  # on every page, in every language
    # the catalog's characters, plus CJK punctuation and full-width forms a message may gain
    chars = (
        set(text)
        | {chr(c) for c in range(0x3000, 0x3040)}
        | {chr(c) for c in range(0xFF01, 0xFF5F)}
    )
    han = "".join(sorted(c for c in chars if ord(c) >= 0x3000))
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    f = subset.load_font(source, options)
    sub = subset.Subsetter(options)
    sub.populate(text=han)
    sub.subset(f)
    FONT_SUBSET.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(f, str(FONT_SUBSET), options)
    return FONT_SUBSET


def fill(lang: str, pairs: dict[str, str | list[str]]) -> int:
    """Set msgid -> msgstr (a list for plural forms) in `lang`; returns how many were set."""
    if lang not in translated():
        raise SystemExit(f"unknown language {lang!r}; use one of {', '.join(translated())}")
    with locked():
        cat = read(lang)
        n = 0
        for msgid, msgstr in pairs.items():
            msg = cat.get(msgid)
            if msg is None:
                continue  # not used by the code (any more): `update` would drop it anyway
            msg.string = tuple(msgstr) if isinstance(msgstr, list) else msgstr
            msg.flags.discard("fuzzy")
            n += 1
        save(lang, cat)
    return n


def todo(lang: str, paths: list[str]) -> dict[str, str]:
    """The strings `lang` lacks, as a {msgid: ""} to fill in, limited to those used under
    `paths` (all when none): one translator's share."""
    cat = read(lang)
    out = {}
    for msg in extract():
        if not msg.id or isinstance(msg.id, tuple):
            continue  # plural forms: translated by hand in the .po
        if paths and not any(f.startswith(tuple(paths)) for f, _ in msg.locations):
            continue
        have = cat.get(msg.id)
        if have is None or not have.string or have.fuzzy:
            out[msg.id] = ""
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the command and run it."""
    p = argparse.ArgumentParser(prog="python -m dcgan.locale", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("update", help="extract, merge into every catalog, compile")
    sub.add_parser("check", help="exit 1 when a catalog lacks a string the code uses")
    sub.add_parser("compile", help="the .mo files from the .po files")
    sub.add_parser("font", help="the Chinese font subset the app serves")
    t = sub.add_parser("todo", help="print the strings a language lacks as JSON to fill")
    t.add_argument("lang")
    t.add_argument("paths", nargs="*", help="only strings used under these paths")
    f = sub.add_parser("fill", help="set translations from a JSON {msgid: msgstr} file")
    f.add_argument("lang")
    f.add_argument("file")
    a = p.parse_args(argv)
    if a.cmd == "update":
        template = update()
        bad = problems(template)
        font()
        print(f"{len(template)} strings; {len(bad)} to translate")
    elif a.cmd == "check":
        bad = problems()
        for line in bad:
            print(line)
        print(f"{len(bad)} strings to translate" if bad else "every catalog is complete")
        return 1 if bad else 0
    elif a.cmd == "todo":
        print(json.dumps(todo(a.lang, a.paths), ensure_ascii=False, indent=1))
    elif a.cmd == "font":
        font()
    elif a.cmd == "compile":
        with locked():
            for lang in translated():
                save(lang, read(lang))
    else:
        pairs = json.loads(Path(a.file).read_text(encoding="utf-8"))
        print(f"{fill(a.lang, pairs)} translations set in {a.lang}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The engine stays UI-free: importing dcgan and every module under it loads neither Streamlit
nor Gradio, so the CLI, the job process and the benchmarks never pay for (or depend on) a UI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: this test process has long since imported both UIs.
PROBE = """
import importlib, json, pkgutil, sys
import dcgan
names = ["dcgan"]
for m in pkgutil.walk_packages(dcgan.__path__, "dcgan."):
    if m.name.rsplit(".", 1)[-1] == "__main__":
        continue  # running it is the CLI, not an import
    importlib.import_module(m.name)
    names.append(m.name)
ui = sorted({n.split(".")[0] for n in sys.modules} & {"streamlit", "gradio"})
print(json.dumps({"imported": names, "ui": ui}))
"""


def test_importing_every_engine_module_loads_no_ui_framework():
    r = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ui"] == [], f"the engine imported {out['ui']}"
    # the walk really covered the package, subpackages included
    assert {"dcgan.config", "dcgan.trainer", "dcgan.data.decode"} <= set(out["imported"])


def test_cross_page_session_keys_are_named_only_in_ui_state():
    """A page hands another page state only through ui.state, so renaming a key or adding a
    hand-over is one place: no page or ui module spells a cross-page key itself."""
    from ui import state

    keys = [v for k, v in vars(state).items() if k.isupper() and isinstance(v, str)]
    assert {"train_cfg", "active_generator", "uploaded_generators"} <= set(keys)
    for path in sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "ui").glob("*.py")):
        if path.name == "state.py":
            continue
        text = path.read_text()
        spelled = [
            k for k in keys if re.search(rf"""["']{k}["']|\b(session_state|ss)\.{k}\b""", text)
        ]
        assert not spelled, f"{path.relative_to(ROOT)} names {spelled}; use ui.state"


def layout_paths(readme: str) -> set[str]:
    """The files the README's Layout tree names: an entry is a name at the start of a line
    (indented two spaces per folder level), a folder when it ends with '/'."""
    block = readme.split("\n## Layout", 1)[1].split("```", 2)[1]
    paths, folders = set(), []  # folders: (indent, "dcgan/") down to the current entry
    for line in block.splitlines():
        m = re.match(r"( *)(\S+)", line)
        if not m or len(m.group(1)) > 8:  # blank, or a description wrapped onto its own line
            continue
        indent, name = len(m.group(1)), m.group(2)
        folders = [(i, f) for i, f in folders if i < indent]
        if name.endswith("/"):
            folders.append((indent, name))
        else:
            paths.add("".join(f for _, f in folders) + name)
    return paths


def test_the_readmes_layout_names_every_module_and_page():
    """The README's Layout is the newcomer's map: every module of dcgan/, ui/, pages/, space/
    and loadtest/ has its line there, and every file it names exists."""
    named = layout_paths((ROOT / "README.md").read_text())
    modules = {
        str(p.relative_to(ROOT))
        for d in ("dcgan", "ui", "pages", "space", "loadtest")
        for p in (ROOT / d).rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    }
    assert not modules - named, f"the README's Layout does not name {sorted(modules - named)}"
    gone = sorted(p for p in named if p.endswith(".py") and not (ROOT / p).exists())
    assert not gone, f"the README's Layout names files that do not exist: {gone}"

"""Assemble the Hugging Face Space into one self-contained folder, check it, and push it.

    python space/build.py build [--out build/space] [--checkpoints checkpoints]
                                [--fashion-mnist DIR]
    python space/build.py push --space-id USER/NAME [--out build/space]
                               [--hardware zero-a10g|cpu-basic|cpu-upgrade]   (needs HF_TOKEN)

The folder holds app.py with its modules (checks, events, files, uploads, zerogpu), the Space
README and requirements, the dcgan package, and the shipped generators
(checkpoints/*.safetensors) with their model card and its pictures, so that
`cd build/space && python app.py` runs with nothing else on the path. `make space`,
`make space-push` and `make space-check` call this file.

ZeroGPU is the target: since July 2026 a free account may host up to 2 ZeroGPU Spaces and no
Space on CPU hardware, which needs a paid plan. So `push` creates the Space on zero-a10g unless
told otherwise, and the build refuses front matter that Hugging Face would refuse:
check_front_matter() knows the keys the Spaces config reference documents, with their types,
the 60-character short_description, and the Pythons and torch releases ZeroGPU lists. The front
matter lists no `models`: the generators ship inside the Space, not as Hub models; `datasets`
is added when the build bundles Fashion-MNIST (the shapes are drawn, not a Hub dataset).

The Space's torch (requirements.txt) is its own pin, not the app's torch==2.14.1: ZeroGPU lists
2.8.0, 2.9.1, 2.10.0 and 2.11.0 ("almost all versions from 2.8.0"), on Python 3.10.13 or
3.12.12. 2.11.0 is the newest listed, so the closest to the app's; its PyPI wheel for Python
3.12 is the CUDA 13 build, which `make space-check` installs here in about a minute (530 MB
wheel, 4.6 GB installed with its nvidia-* libraries) and runs on the CPU when there is no GPU.

With --fashion-mnist DIR (its four idx .gz files), the Train tab also offers Fashion-MNIST: its
MIT licence allows redistributing it inside the Space, with its copyright notice, which the build
writes beside the files. Nothing else is bundled: the other datasets need a login (anime faces) or
carry no licence that allows it (the Pokemon sprites), and no dataset file is ever committed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# dcgan.i18n.FONT_SUBSET: the built app looks for it in static/ beside its dcgan/
FONT_SUBSET = ROOT / "static" / "noto-sans-sc-subset.woff2"
# the built Space: the layout, its modules, the README (front matter) and the pins; not this
# file, the ZeroGPU fake or the builder check, which are the repo's tools
SPACE_FILES = (
    "app.py",
    "checks.py",
    "events.py",
    "files.py",
    "lang.py",
    "training.py",
    "uploads.py",
    "zerogpu.py",
    "README.md",
    "requirements.txt",
)
# The Spaces config reference's keys (huggingface.co/docs/hub/spaces-config-reference) with
# their YAML types, plus `license`, the Hub's repo-card key every Space may carry.
FRONT_MATTER_KEYS = {
    "title": str, "short_description": str, "emoji": str, "colorFrom": str, "colorTo": str,
    "sdk": str, "python_version": str, "sdk_version": str, "suggested_hardware": str,
    "suggested_storage": str, "app_file": str, "app_port": int, "base_path": str,
    "fullWidth": bool, "header": str, "models": list, "datasets": list, "tags": list,
    "thumbnail": str, "pinned": bool, "hf_oauth": bool, "hf_oauth_scopes": list,
    "hf_oauth_expiration_minutes": int, "hf_oauth_authorized_org": (str, list),
    "disable_embedding": bool, "startup_duration_timeout": str, "custom_headers": dict,
    "preload_from_hub": list, "license": str,
}  # fmt: skip
SHORT_DESCRIPTION_MAX = 60  # the Hub refuses a push with more ("must be less than or equal to 60")
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
ZEROGPU_PYTHONS = ("3.10.13", "3.12.12")  # the only Pythons ZeroGPU runs
ZEROGPU_TORCH = ("2.8.0", "2.9.1", "2.10.0", "2.11.0")  # the releases its docs list
# Hardware a push may ask for: ZeroGPU (free accounts: up to 2 such Spaces), or paid CPU
HARDWARE = ("zero-a10g", "cpu-basic", "cpu-upgrade")
FASHION_DATASET = "zalando-datasets/fashion_mnist"  # the Hub's copy of what --fashion-mnist bundles
CARD_PICTURES = ("*.png", "*.jpg", "*.gif", "*.webp")  # the model card's sample grids
FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_LICENSE = """Fashion-MNIST, https://github.com/zalandoresearch/fashion-mnist

The MIT License (MIT)
Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT
OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


class BuildError(RuntimeError):
    """The Space cannot be built or pushed; the message says what to do."""


def front_matter(readme: str) -> dict:
    """The YAML block at the top of a Space's README.md, as a dict ({} when there is none)."""
    import yaml  # gradio's own dependency, so in every venv that builds the Space

    if not readme.startswith("---\n"):
        return {}
    block = readme[4:].split("\n---\n", 1)[0]
    meta = yaml.safe_load(block)
    return meta if isinstance(meta, dict) else {}


def check_front_matter(meta: dict, requirements: str = "") -> list[str]:
    """What Hugging Face would refuse or ZeroGPU cannot run, one line each ([] = fine)."""
    problems = []
    for key, value in meta.items():
        kind = FRONT_MATTER_KEYS.get(key)
        if kind is None:
            problems.append(f"front matter key {key!r} is not in the Spaces config reference")
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"front matter {key}: {value!r} has the wrong type")
    for key in ("title", "sdk", "sdk_version", "python_version", "app_file", "short_description"):
        if key not in meta:
            problems.append(f"front matter lacks {key}")
    desc = meta.get("short_description")
    if isinstance(desc, str) and len(desc) > SHORT_DESCRIPTION_MAX:
        problems.append(
            f"short_description is {len(desc)} characters: the Hub takes at most "
            f"{SHORT_DESCRIPTION_MAX}"
        )
    if meta.get("sdk") != "gradio":
        problems.append("sdk must be gradio: ZeroGPU runs only Gradio Spaces")
    version = str(meta.get("sdk_version", ""))
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        problems.append(f"sdk_version {version!r} must pin one release, like 6.31.0")
    if str(meta.get("python_version")) not in ZEROGPU_PYTHONS:
        problems.append(
            f"python_version {meta.get('python_version')!r} is not one ZeroGPU runs "
            f"({', '.join(ZEROGPU_PYTHONS)})"
        )
    for key in ("colorFrom", "colorTo"):
        if key in meta and meta[key] not in COLOURS:
            problems.append(f"{key} {meta[key]!r} must be one of {', '.join(sorted(COLOURS))}")
    if meta.get("suggested_hardware", "zero-a10g") not in HARDWARE + ("t4-small", "a10g-small"):
        problems.append(f"suggested_hardware {meta['suggested_hardware']!r} is not a flavour")
    torch_pin = re.search(r"^torch==(\S+)", requirements, re.M)
    if requirements and (torch_pin is None or torch_pin.group(1) not in ZEROGPU_TORCH):
        found = torch_pin.group(1) if torch_pin else "no pin"
        problems.append(
            f"requirements.txt's torch ({found}) is not one ZeroGPU lists: "
            f"pin one of {', '.join(ZEROGPU_TORCH)}"
        )
    return problems


def build(
    out: Path = ROOT / "build" / "space",
    checkpoints: Path = ROOT / "checkpoints",
    fashion_mnist: Path | None = None,
) -> Path:
    """Write the Space folder at `out` (replacing it); return its path."""
    out, checkpoints = Path(out), Path(checkpoints)
    generators = sorted(checkpoints.glob("*.safetensors"))
    if not generators:
        raise BuildError(
            f"no generators in {checkpoints}/ (*.safetensors): the Space would have nothing "
            "to show. Train and export them first (see checkpoints/README.md)."
        )
    if fashion_mnist is not None:
        missing = [n for n in FASHION_FILES if not (Path(fashion_mnist) / n).is_file()]
        if missing:
            raise BuildError(
                f"--fashion-mnist {fashion_mnist} lacks {', '.join(missing)}: point it at the "
                "folder holding Fashion-MNIST's four idx .gz files."
            )
    readme = (ROOT / "space" / "README.md").read_text()
    meta = front_matter(readme)
    problems = check_front_matter(meta, (ROOT / "space" / "requirements.txt").read_text())
    if problems:
        raise BuildError("space/README.md would be refused: " + "; ".join(problems))
    if out.exists():
        shutil.rmtree(out)
    (out / "checkpoints").mkdir(parents=True)
    for name in SPACE_FILES:
        shutil.copy2(ROOT / "space" / name, out / name)
    shutil.copytree(
        ROOT / "dcgan", out / "dcgan", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    # the Chinese font subset, where dcgan.i18n.FONT_SUBSET looks for it (beside dcgan/)
    (out / "static").mkdir(exist_ok=True)
    shutil.copyfile(FONT_SUBSET, out / "static" / FONT_SUBSET.name)
    extras = [checkpoints / "README.md"] if (checkpoints / "README.md").exists() else []
    for pattern in CARD_PICTURES:  # wherever the card keeps them, but not the training runs
        extras += [p for p in sorted(checkpoints.rglob(pattern)) if "runs" not in p.parts]
    for path in generators + extras:
        dest = out / "checkpoints" / path.relative_to(checkpoints)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)  # plain copy: readable modes
    if fashion_mnist is not None:  # app.py finds data/fashion-mnist beside itself
        dest = out / "data" / "fashion-mnist"
        dest.mkdir(parents=True)
        for name in FASHION_FILES:
            shutil.copyfile(Path(fashion_mnist) / name, dest / name)
        (dest / "LICENSE").write_text(FASHION_LICENSE)
        # the front matter lists the dataset the Space now uses, as the config reference asks
        (out / "README.md").write_text(
            readme.replace("\n---\n", f"\ndatasets:\n  - {FASHION_DATASET}\n---\n", 1)
        )
    return out


FREE_ACCOUNT = (
    "a free account may host up to 2 ZeroGPU Spaces and no Space on CPU hardware (a paid "
    "plan since July 2026)"
)


def push(
    folder: Path,
    space_id: str,
    token: str | None,
    hardware: str = "zero-a10g",
    api=None,
) -> str:
    """Upload the built folder to the Space `space_id` on `hardware`, replacing what was there.

    `api` is an HfApi (or a stand-in with its create_repo and upload_folder); by default a real
    one with the token. Every failure is one BuildError line saying what to do.
    """
    if not token:
        raise BuildError(
            "HF_TOKEN is not set: create a write token at "
            "https://huggingface.co/settings/tokens and export HF_TOKEN=... first."
        )
    if not space_id or "/" not in space_id:
        raise BuildError(
            f"SPACE_ID={space_id!r} must name the Space as user-or-org/space-name, "
            "e.g. make space-push SPACE_ID=alice/dcgan-playground."
        )
    if hardware not in HARDWARE:
        raise BuildError(f"--hardware {hardware!r} must be one of {', '.join(HARDWARE)}.")
    if not (Path(folder) / "app.py").exists():
        raise BuildError(f"{folder} holds no built Space: run `make space` first.")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        api.create_repo(
            space_id,
            repo_type="space",
            space_sdk="gradio",
            space_hardware=hardware,
            exist_ok=True,
        )
        info = api.upload_folder(
            repo_id=space_id,
            repo_type="space",
            folder_path=str(folder),
            commit_message="Update the DCGAN Playground Space",
            delete_patterns="*",  # files gone from the build go from the Space too
        )
    except Exception as e:  # HTTP, auth and network errors alike: one clear line, no traceback
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status in (402, 403) or "payment" in str(e).lower():
            raise BuildError(
                f"the account behind HF_TOKEN cannot have {hardware} for {space_id} ({status}): "
                f"{FREE_ACCOUNT}. Free a ZeroGPU slot, or upgrade for --hardware cpu-basic."
            ) from e
        if status == 401:
            raise BuildError("HF_TOKEN was refused (401): make a new write token.") from e
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BuildError(f"pushing to the Space {space_id} failed: {first}") from e
    return str(getattr(info, "commit_url", info))


def main(argv: list[str] | None = None) -> int:
    """Build or push from the command line; errors print one line and exit 2."""
    p = argparse.ArgumentParser(prog="python space/build.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="assemble the Space folder")
    b.add_argument("--out", type=Path, default=ROOT / "build" / "space")
    b.add_argument(
        "--checkpoints",
        type=Path,
        default=Path(os.environ.get("DCGAN_CHECKPOINTS", ROOT / "checkpoints")),
        help="folder of *.safetensors generators (default: $DCGAN_CHECKPOINTS or checkpoints/)",
    )
    b.add_argument(
        "--fashion-mnist",
        type=Path,
        help="folder of Fashion-MNIST's four .gz files, bundled (MIT) for the Train tab",
    )
    u = sub.add_parser("push", help="upload the built folder to a Hugging Face Space")
    u.add_argument("--out", type=Path, default=ROOT / "build" / "space")
    u.add_argument("--space-id", default=os.environ.get("SPACE_ID", ""))
    u.add_argument(
        "--hardware",
        default=os.environ.get("SPACE_HARDWARE", "zero-a10g"),
        help="zero-a10g (ZeroGPU, the default: what a free account may host) or paid CPU",
    )
    a = p.parse_args(argv)
    try:
        if a.command == "build":
            out = build(a.out, a.checkpoints, a.fashion_mnist)
            names = sorted(x.stem for x in (out / "checkpoints").glob("*.safetensors"))
            print(f"Space built in {out} with generators {', '.join(names)}")
            print(f"run it: cd {out} && python app.py")
        else:
            url = push(a.out, a.space_id, os.environ.get("HF_TOKEN"), a.hardware)
            print(
                f"pushed {a.out} to https://huggingface.co/spaces/{a.space_id} "
                f"on {a.hardware} ({url})"
            )
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Assemble the Hugging Face Space into one self-contained folder, and push it.

    python space/build.py build [--out build/space] [--checkpoints checkpoints]
                                [--fashion-mnist DIR]
    python space/build.py push --space-id USER/NAME [--out build/space]   (needs HF_TOKEN)

The folder holds app.py, the Space README and requirements, the dcgan package, and the shipped
generators (checkpoints/*.safetensors) with their model card and its pictures, so that
`cd build/space && python app.py` runs with nothing else on the path. `make space` and
`make space-push` call this file.

The same folder runs on free CPU hardware and on ZeroGPU (pick the hardware in the Space's
settings): the front matter names a Python that ZeroGPU offers (3.12; the code needs 3.11+) and
suggests ZeroGPU, and requirements.txt pins the `spaces` package the app imports on both.

With --fashion-mnist DIR (its four idx .gz files), the Train tab also offers Fashion-MNIST: its
MIT licence allows redistributing it inside the Space, with its copyright notice, which the build
writes beside the files. Nothing else is bundled: the other datasets need a login (anime faces) or
carry no licence that allows it (the Pokemon sprites), and no dataset file is ever committed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE_FILES = ("app.py", "README.md", "requirements.txt")
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
    if out.exists():
        shutil.rmtree(out)
    (out / "checkpoints").mkdir(parents=True)
    for name in SPACE_FILES:
        shutil.copy2(ROOT / "space" / name, out / name)
    shutil.copytree(
        ROOT / "dcgan", out / "dcgan", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
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
    return out


def push(folder: Path, space_id: str, token: str | None) -> str:
    """Upload the built folder to the Space `space_id`, replacing what was there."""
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
    if not (Path(folder) / "app.py").exists():
        raise BuildError(f"{folder} holds no built Space: run `make space` first.")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(space_id, repo_type="space", space_sdk="gradio", exist_ok=True)
        info = api.upload_folder(
            repo_id=space_id,
            repo_type="space",
            folder_path=str(folder),
            commit_message="Update the DCGAN Playground Space",
            delete_patterns="*",  # files gone from the build go from the Space too
        )
    except Exception as e:  # HTTP, auth and network errors alike: one clear line, no traceback
        raise BuildError(f"pushing to the Space {space_id} failed: {e}") from e
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
    a = p.parse_args(argv)
    try:
        if a.command == "build":
            out = build(a.out, a.checkpoints, a.fashion_mnist)
            names = sorted(x.stem for x in (out / "checkpoints").glob("*.safetensors"))
            print(f"Space built in {out} with generators {', '.join(names)}")
            print(f"run it: cd {out} && python app.py")
        else:
            url = push(a.out, a.space_id, os.environ.get("HF_TOKEN"))
            print(f"pushed {a.out} to https://huggingface.co/spaces/{a.space_id} ({url})")
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

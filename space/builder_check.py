"""The builder test: build/space installed and started the way Hugging Face builds a Space, then
used as a visitor would. `make space-check` runs it (after `make space`); .ci/run calls that.

    python space/builder_check.py [--folder build/space] [--modes cpu,zerogpu] [--fresh]

1. The front matter of the built README passes space/build.py's check_front_matter.
2. A virtual environment on the Python the front matter names (major.minor: python3.12 from
   PATH or pyenv; the patch level can differ here, Hugging Face runs exactly 3.12.12) with
   exactly `gradio==<sdk_version>` and the folder's requirements.txt (which pins `spaces`),
   nothing from the repo's venv. It is cached under ~/.cache/dcgan-space-builder/<hash of the
   Python, the gradio pin and requirements.txt>, so a rerun starts in seconds; --fresh rebuilds
   it and prints the install's time and size.
3. For each mode, `python app.py` in the folder with the repo off PYTHONPATH: "cpu" as on CPU
   hardware, "zerogpu" under space/zerogpu_fake.py (the real `spaces` package against a fake
   scheduler). Every named endpoint is called through gradio_client (/train on a zip of drawn
   images sent to /upload first); then headless Chromium presses Train, waits for the run's
   generator, and opens the Interpolation tab with it.
   Screenshots land in artifacts/screenshots/space-builder-<mode>-{train,latent}.png.

Prints one line per step and PASS, or the first failure and exit 1.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from loadtest.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from loadtest.common import server  # noqa: E402
from loadtest.net import free_port  # noqa: E402

CACHE = Path(
    os.environ.get("DCGAN_SPACE_BUILDER_CACHE", Path.home() / ".cache" / "dcgan-space-builder")
)
SHOTS = ROOT / "artifacts" / "screenshots"
TRAIN_STEPS = 40  # the browser's run: long enough for a few grids, short enough for CI
ENDPOINTS = {
    "model",
    "sample",
    "interp",
    "frame",
    "pool",
    "arithmetic",
    "relu",
    "shapes",
    "upload",
    "train",
    "stop",
}
YOURS = "yours (Train tab)"


class CheckError(RuntimeError):
    """A step of the builder test failed; the message says which and why."""


def step(text: str) -> None:
    print(f"[space-check] {text}", flush=True)


def load_build():
    spec = importlib.util.spec_from_file_location("space_build", ROOT / "space" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def find_python(version: str) -> str:
    """An interpreter for major.minor of `version`: python3.X on PATH, else pyenv's."""
    minor = ".".join(version.split(".")[:2])
    candidates = [shutil.which(f"python{minor}")]
    candidates += sorted(
        Path.home().glob(f".pyenv/versions/{minor}*/bin/python{minor}"), reverse=True
    )
    for c in candidates:
        if c and subprocess.run([c, "--version"], capture_output=True).returncode == 0:
            return str(c)
    raise CheckError(f"no python{minor} here (the front matter's python_version {version})")


def builder_venv(python: str, gradio: str, requirements: Path, fresh: bool) -> Path:
    """The cached venv with exactly gradio==<gradio> and requirements.txt installed."""
    real = subprocess.run([python, "--version"], capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256(f"{real}|gradio=={gradio}|{requirements.read_text()}".encode())
    venv = CACHE / key.hexdigest()[:16]
    if fresh and venv.exists():
        shutil.rmtree(venv)
    if (venv / ".complete").exists():
        step(f"builder venv cached: {venv} ({real})")
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    step(f"creating the builder venv {venv} on {real}")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    t0 = time.monotonic()
    cmd = [str(venv / "bin" / "pip"), "install", "--progress-bar", "off", "-q"]
    cmd += [f"gradio=={gradio}", "-r", str(requirements)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise CheckError(f"pip install failed:\n{r.stdout[-2000:]}{r.stderr[-3000:]}")
    size = sum(p.stat().st_size for p in venv.rglob("*") if p.is_file() and not p.is_symlink())
    step(f"installed in {time.monotonic() - t0:.0f} s, venv {size / 2**30:.1f} GiB")
    (venv / ".complete").write_text(real)
    return venv


@contextmanager
def serving(venv: Path, folder: Path, mode: str, tmp: Path):
    """`python app.py` (or under the ZeroGPU fake) in the folder until the block ends; yields
    its url."""
    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DCGAN_SPACE_TRAIN_STEPS": str(TRAIN_STEPS),
        "DCGAN_SPACE_SESSIONS": str(tmp / "sessions"),
    }  # no PYTHONPATH: the folder must hold everything
    py = str(venv / "bin" / "python")
    cmd = (
        [py, "app.py"] if mode == "cpu" else [py, str(ROOT / "space" / "zerogpu_fake.py"), "app.py"]
    )
    url = f"http://127.0.0.1:{port}/"
    with ExitStack() as stack:
        try:
            stack.enter_context(
                server(cmd, env, url, tmp / f"{mode}.log", cwd=folder, inherit_env=False)
            )
        except RuntimeError as e:  # it exited or never answered; the message ends with its log
            raise CheckError(f"`{' '.join(cmd)}` did not start: {e}") from e
        yield url


def drawn_zip(folder: Path, n: int = 40) -> Path:
    """A zip of n small drawn PNGs: what a visitor uploads to train on their own images."""
    from PIL import Image

    path = folder / "drawn.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(n):
            img = Image.new("RGB", (40, 40), (250, 250, 240))
            img.paste((i * 37 % 256, 90, 200), (10, 10, 30, 30))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            zf.writestr(f"{i:02d}.png", buf.getvalue())
    return path


def call_endpoints(url: str, name: str, tmp: Path) -> None:
    """Every named endpoint, through gradio_client, as the API page documents it; Train runs
    on a zip uploaded first (the forked ZeroGPU worker reads it too)."""
    from gradio_client import Client, handle_file

    c = Client(url, verbose=False)
    found = {
        e.strip("/") for e in c.view_api(print_info=False, return_format="dict")["named_endpoints"]
    }
    if found != ENDPOINTS:
        raise CheckError(f"named endpoints {sorted(found)}, expected {sorted(ENDPOINTS)}")
    args = {
        "model": (name, 0, 4, 1, 2, "slerp", 5, 0.5, 0, "16", "0", "1", "2", 1, -1, 1, 0.2),
        "sample": (name, 1, 16),
        "interp": (name, 1, 2, "slerp", 8),
        "frame": (name, 1, 2, "lerp", 0.3),
        "pool": (name, 0, "24"),
        "arithmetic": (name, 0, "24", "0, 1", "2", "3", 1, -1, 1, 0.25),
        "relu": (0.2, True),
        "shapes": ("ConvTranspose2d", 16, 4, 2, 1, 0, 1),
        "upload": (handle_file(str(drawn_zip(tmp))),),
        "train": ("upload", 10),
        "stop": (),
    }
    for api, a in args.items():
        t0 = time.monotonic()
        out = c.predict(*a, api_name=f"/{api}")
        if api != "stop" and not out:
            raise CheckError(f"/{api} answered nothing")
        if api == "upload" and "40 images ready" not in out[0]:
            raise CheckError(f"/upload did not take the zip: {out[0][:300]}")
        if api == "train" and "Done" not in out[0]:
            raise CheckError(f"/train did not end with a generator: {out[0][:300]}")
        step(f"  /{api} answered in {time.monotonic() - t0:.2f} s")


def press_train(url: str, mode: str) -> None:
    """Chromium presses Train, waits for the visitor's generator, then plays with it."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            page.get_by_role("tab", name="Train").click()
            page.get_by_role("button", name="Train", exact=True).click()
            page.locator("#live-grid img").wait_for(state="visible", timeout=180_000)
            page.screenshot(
                path=str(SHOTS / f"space-builder-{mode}-train-live.png"), full_page=True
            )
            page.get_by_text("Done.").wait_for(timeout=180_000)
            page.locator("#download").wait_for(state="visible", timeout=30_000)
            page.wait_for_function(
                "y => [...document.querySelectorAll('input')].some(i => i.value === y)",
                arg=YOURS,
                timeout=30_000,
            )
            page.screenshot(path=str(SHOTS / f"space-builder-{mode}-train.png"), full_page=True)
            page.get_by_role("tab", name="Interpolation").click()
            before = page.locator("#strip img").get_attribute("src")
            page.get_by_label("Seed B").fill("7")  # a new path: a new strip (same bytes, same URL)
            page.get_by_role("button", name="Interpolate").click()
            page.wait_for_function(  # the strip redrawn by the visitor's own generator
                "s => { const i = document.querySelector('#strip img');"
                " return i && i.getAttribute('src') !== s; }",
                arg=before,
                timeout=60_000,
            )
            page.screenshot(path=str(SHOTS / f"space-builder-{mode}-latent.png"), full_page=True)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", type=Path, default=ROOT / "build" / "space")
    p.add_argument("--modes", default="cpu,zerogpu")
    p.add_argument("--fresh", action="store_true", help="rebuild the cached builder venv")
    p.add_argument("--no-browser", action="store_true")
    a = p.parse_args(argv)
    b = load_build()
    try:
        if not (a.folder / "app.py").exists():
            raise CheckError(f"{a.folder} holds no built Space: run `make space` first")
        meta = b.front_matter((a.folder / "README.md").read_text())
        problems = b.check_front_matter(meta, (a.folder / "requirements.txt").read_text())
        if problems:
            raise CheckError("front matter: " + "; ".join(problems))
        step(f"front matter passes ({len(meta['short_description'])}-char description)")
        python = find_python(str(meta["python_version"]))
        venv = builder_venv(
            python, str(meta["sdk_version"]), a.folder / "requirements.txt", a.fresh
        )
        name = sorted(x.stem for x in (a.folder / "checkpoints").glob("*.safetensors"))[0]
        for mode in a.modes.split(","):
            with tempfile.TemporaryDirectory(prefix=f"space-check-{mode}-") as tmp:
                t0 = time.monotonic()
                with serving(venv, a.folder, mode, Path(tmp)) as url:
                    step(
                        f"{mode}: `python app.py` serves {url} after {time.monotonic() - t0:.0f} s"
                    )
                    call_endpoints(url, name, Path(tmp))
                    if not a.no_browser:
                        try:
                            press_train(url, mode)
                        except Exception as e:  # Playwright's timeouts: say which step
                            raise CheckError(f"{mode}: the browser check failed: {e}") from e
                        step(f"{mode}: Chromium trained, got the generator, opened Interpolation")
    except CheckError as e:
        print(f"[space-check] FAIL: {e}", flush=True)
        return 1
    print("[space-check] PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

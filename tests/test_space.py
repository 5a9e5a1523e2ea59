"""The Hugging Face Space: served on localhost and called through gradio_client as a stranger
would call it, plus the folder `make space` builds."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan import pretrained
from dcgan.checkpoint import export_generator
from dcgan.config import ModelConfig
from dcgan.models import build as build_models

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# two tiny untrained generators: the Space's behaviour does not depend on what they learned
GENERATORS = {"tiny-32": 32, "tiny-64": 64}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> Path:
    """A checkpoints/ folder holding two generator exports of different sizes."""
    folder = tmp_path_factory.mktemp("checkpoints")
    for name, size in GENERATORS.items():
        cfg = ModelConfig(image_size=size, ngf=8, ndf=8, init="paper")  # BN weights ~1: z matters
        export_generator(build_models(cfg, seed=1)[0], cfg, folder / f"{name}.safetensors")
    return folder


@pytest.fixture(scope="module")
def space(checkpoints):
    """space/app.py imported against the test generators and launched on a free port."""
    saved = pretrained.CHECKPOINT_DIR
    pretrained.CHECKPOINT_DIR = checkpoints
    spec = importlib.util.spec_from_file_location("space_app", ROOT / "space" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    yield app, url
    app.demo.close()
    pretrained.CHECKPOINT_DIR = saved


@pytest.fixture(scope="module")
def client(space):
    return gradio_client.Client(space[1], verbose=False)


def pixels(path) -> np.ndarray:
    """An image the Space returned, as an (H, W, 3) array."""
    return np.asarray(Image.open(path).convert("RGB"))


def cell(grid: np.ndarray, i: int, size: int, nrow: int, pad: int = 2) -> np.ndarray:
    """Image i of a grid written by dcgan.images.grid_image."""
    r, c = divmod(i, nrow)
    y, x = pad + r * (size + pad), pad + c * (size + pad)
    return grid[y : y + size, x : x + size]


def test_every_endpoint_answers(client):
    """Each public endpoint, called as the API page documents it, returns what the UI shows."""
    names = {
        e.strip("/")
        for e in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    }
    assert names == {"model", "sample", "interp", "frame", "pool", "arithmetic", "relu", "shapes"}

    # sample: 4 images of 32px in a 2x2 grid; a seed repeats, another seed differs
    g1 = pixels(client.predict("tiny-32", 7, 4, api_name="/sample"))
    assert g1.shape == (2 * 34 + 2, 2 * 34 + 2, 3)
    assert np.array_equal(g1, pixels(client.predict("tiny-32", 7, 4, api_name="/sample")))
    assert not np.array_equal(g1, pixels(client.predict("tiny-32", 8, 4, api_name="/sample")))
    # the switch between generators: the 64px one answers with 64px images
    assert pixels(client.predict("tiny-64", 7, 1, api_name="/sample")).shape == (68, 68, 3)

    # interpolation: a strip of 5, a norm plot; the frame at t=0 is the strip's first image
    strip, plot = client.predict("tiny-32", 1, 2, "slerp", 5, api_name="/interp")
    strip = pixels(strip)
    assert strip.shape == (36, 5 * 34 + 2, 3)
    assert plot["type"] == "plotly" and "lerp" in plot["plot"]
    at_0 = pixels(client.predict("tiny-32", 1, 2, "slerp", 0.0, api_name="/frame"))
    assert np.abs(cell(strip, 0, 32, 5).astype(int) - cell(at_0, 0, 32, 1)).max() <= 2
    at_1 = pixels(client.predict("tiny-32", 1, 2, "lerp", 1.0, api_name="/frame"))
    assert np.abs(cell(strip, 4, 32, 5).astype(int) - cell(at_1, 0, 32, 1)).max() <= 2

    # vector arithmetic: the numbered candidates, then means + result and 9 around it
    pool = pixels(client.predict("tiny-32", 0, "16", api_name="/pool"))
    assert pool.shape[1] > pool.shape[0]  # 8 per row, 2 rows
    means, around = client.predict(
        "tiny-32", 0, "16", "0, 1", "2", "3 4 5", 1, -1, 1, 0.25, api_name="/arithmetic"
    )
    assert pixels(means).shape == (36, 4 * 34 + 2, 3)
    assert pixels(around).shape == (3 * 34 + 2, 3 * 34 + 2, 3)

    # the teaching tools
    relu = client.predict(0.3, True, api_name="/relu")
    assert relu["type"] == "plotly" and "0.3 (D now)" in relu["plot"]
    text, scatter = client.predict("ConvTranspose2d", 16, 4, 2, 1, 0, 1, api_name="/shapes")
    assert "16 → **32**" in text and scatter["type"] == "plotly"
    text, scatter = client.predict("Conv2d", 64, 4, 2, 1, 0, 1, api_name="/shapes")
    assert "64 → **32**" in text and scatter is None

    # what the page loads on open and on a generator switch
    out = client.predict(
        "tiny-64", 0, 4, 1, 2, "lerp", 3, 0.5, 0, "16", "0", "1", "2", 1, -1, 1, 0.0,
        api_name="/model",
    )  # fmt: skip
    assert len(out) == 9 and "**tiny-64**: 64×64" in out[0]
    table = out[-1]["data"]
    assert table[0][0] == "input" and table[-1][2] == "1 × 3 × 64 × 64"


BAD = [
    ("/sample", ("tiny-32", -1, 4), "Seed -1 is out of range"),
    ("/sample", ("tiny-32", 2**31, 4), "out of range"),
    ("/sample", ("tiny-32", "abc", 4), "Seed must be a whole number"),
    ("/sample", ("tiny-32", 1.5, 4), "Seed must be a whole number"),
    ("/sample", ("tiny-32", None, 4), "Seed must be a whole number"),
    ("/sample", ("tiny-32", 0, 0), "Number of samples 0 is out of range"),
    ("/sample", ("tiny-32", 0, 10_000), "Number of samples 10000 is out of range"),
    ("/sample", ("tiny-32", 0, [4]), "Number of samples must be a whole number"),
    ("/sample", ("no-such-model", 0, 4), "Generator must be one of tiny-32, tiny-64"),
    ("/sample", (["tiny-32"], 0, 4), "Generator must be one of"),
    ("/interp", ("tiny-32", 1, 2, "slerp", 1), "Images in the strip 1 is out of range"),
    ("/interp", ("tiny-32", 1, 2, "slerp", 1000), "Images in the strip 1000 is out of range"),
    ("/interp", ("tiny-32", 1, 2, "curve", 5), "Path must be one of lerp, slerp"),
    ("/frame", ("tiny-32", 1, 2, "lerp", 1.5), "t 1.5 is out of range"),
    ("/frame", ("tiny-32", 1, 2, "lerp", "half"), "t must be a number"),
    ("/pool", ("tiny-32", 0, "25"), "Grid size must be one of 16, 24, 32, 48"),
    ("/arithmetic", ("tiny-32", 0, "16", "0", "99", "2", 1, -1, 1, 0.2), "Group B: '99'"),
    ("/arithmetic", ("tiny-32", 0, "16", "", "1", "2", 1, -1, 1, 0.2), "Group A is empty"),
    ("/arithmetic", ("tiny-32", 0, "16", "0", "1", "2", 9, -1, 1, 0.2), "Coefficient of A 9"),
    ("/relu", ({"alpha": 0.2}, False), "alpha must be a number"),
    ("/relu", (0.2, "yes"), "Derivative must be true or false"),
    ("/shapes", ("Conv2d", 2, 5, 1, 0, 0, 1), "larger than the padded input"),
    ("/shapes", ("ConvTranspose2d", 8, 4, 2, 1, 3, 1), "output padding 3"),
    ("/shapes", ("Conv2d", 10**9, 4, 2, 1, 0, 1), "Input size n 1000000000 is out of range"),
]


def test_bad_inputs_get_a_clear_error_and_the_server_lives_on(client):
    """Every bad value raises the Space's own gr.Error message (not a crash or a traceback)."""
    for api, args, message in BAD:
        with pytest.raises(AppError) as err:
            client.predict(*args, api_name=api)
        assert message in str(err.value), (api, args, str(err.value))
    assert pixels(client.predict("tiny-32", 0, 1, api_name="/sample")).shape == (36, 36, 3)


def test_eight_clients_at_once_all_get_their_own_seeds(space):
    """Concurrent requests each get an answer, and each answer matches its seed alone."""
    app, url = space
    results, errors = {}, []

    def call(seed):
        try:
            c = gradio_client.Client(url, verbose=False)
            results[seed] = pixels(c.predict("tiny-64", seed, 9, api_name="/sample"))
        except Exception as e:  # collected: a thread's failure must fail the test
            errors.append(e)

    threads = [threading.Thread(target=call, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and sorted(results) == list(range(8))
    for seed, grid in results.items():
        alone = np.asarray(app.sample("tiny-64", seed, 9).convert("RGB"))
        assert np.array_equal(grid, alone), seed  # per-request generators: no cross-talk


def test_queue_is_bounded(space):
    """The Space queues requests with a concurrency limit and a maximum size."""
    app, _ = space
    assert app.demo._queue.max_size == app.QUEUE_SIZE > 0
    assert app.demo._queue.default_concurrency_limit == app.CONCURRENCY >= 1


# ------------------------------------------------------------------ the built folder


def load_build():
    spec = importlib.util.spec_from_file_location("space_build", ROOT / "space" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHECK_BUILD = r"""
import json, os, sys
folder = os.path.realpath(sys.argv[1])
sys.path.insert(0, folder)
import app
outside = sorted(
    name for name, m in list(sys.modules.items())
    if os.path.isabs(getattr(m, "__file__", None) or "")  # torch.ops & co. have pseudo-files
    and not os.path.realpath(m.__file__).startswith((folder + os.sep, os.path.realpath(sys.prefix),
                                                      os.path.realpath(sys.base_prefix)))
)
print(json.dumps({"names": app.NAMES, "dcgan": os.path.realpath(sys.modules["dcgan"].__file__),
                  "outside": outside, "folder": folder}))
"""


def test_built_space_runs_from_its_own_folder(checkpoints, tmp_path):
    """`make space`'s folder holds everything app.py imports: imported in a fresh interpreter
    with only that folder added to the standard paths, every module comes from the folder,
    the standard library or site-packages, and it finds its generators by itself."""
    (checkpoints / "README.md").write_text("# model card\n")
    (checkpoints / "samples").mkdir(exist_ok=True)
    (checkpoints / "samples" / "tiny-32.png").write_bytes(b"\x89PNG")
    (checkpoints / "runs" / "x").mkdir(parents=True, exist_ok=True)
    (checkpoints / "runs" / "x" / "timeline.png").write_bytes(b"\x89PNG")
    out = load_build().build(tmp_path / "space", checkpoints)
    copied = sorted(
        str(p.relative_to(out)) for p in (out / "checkpoints").rglob("*") if p.is_file()
    )
    assert copied == [
        "checkpoints/README.md",
        "checkpoints/samples/tiny-32.png",
        "checkpoints/tiny-32.safetensors",
        "checkpoints/tiny-64.safetensors",
    ]
    front = (out / "README.md").read_text().split("---")[1]
    for line in (
        "sdk: gradio",
        "sdk_version: 6.31.0",
        "app_file: app.py",
        'python_version: "3.11"',
    ):
        assert line in front
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GRADIO_ANALYTICS_ENABLED": "False"}
    # -I: no PYTHONPATH, no user site, no current directory on the path
    r = subprocess.run(
        [sys.executable, "-I", "-c", CHECK_BUILD, str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["dcgan"].startswith(info["folder"])
    assert info["outside"] == []
    assert info["names"] == ["tiny-32", "tiny-64"]


def test_build_and_push_refuse_with_a_clear_message(tmp_path, capsys):
    """No generators, no token or a malformed Space id: one line saying what to do."""
    b = load_build()
    assert b.main(["build", "--out", str(tmp_path / "o"), "--checkpoints", str(tmp_path)]) == 2
    assert "no generators" in capsys.readouterr().err
    with pytest.raises(b.BuildError, match="HF_TOKEN is not set"):
        b.push(tmp_path, "alice/space", None)
    with pytest.raises(b.BuildError, match="user-or-org/space-name"):
        b.push(tmp_path, "just-a-name", "token")
    with pytest.raises(b.BuildError, match="run `make space` first"):
        b.push(tmp_path, "alice/space", "token")

"""The Hugging Face Space: served on localhost and called through gradio_client as a stranger
would call it, plus the folder `make space` builds."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import latent, live, pretrained
from dcgan.checkpoint import load_generator, read_metadata
from dcgan.images import grid_image
from loadtest.net import free_port, wait_for
from tests.helpers import tiny_generators

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# two tiny untrained generators: the Space's behaviour does not depend on what they learned
GENERATORS = {"tiny-32": 32, "tiny-64": 64}
TRAIN_STEPS = 12  # a live run's step cap in these tests: seconds, not a minute


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> Path:
    """A checkpoints/ folder holding two generator exports of different sizes."""
    return tiny_generators(tmp_path_factory.mktemp("checkpoints"), GENERATORS)


SPACE_MODULES = (
    "checks",
    "events",
    "files",
    "lang",
    "training",
    "uploads",
    "zerogpu",
)  # app.py's, imported by name


def import_space_app():
    """space/app.py imported afresh (with its modules), as `python app.py` would import it."""
    for name in SPACE_MODULES:
        sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location("space_app", ROOT / "space" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    return app


@pytest.fixture(scope="module")
def space(checkpoints, tmp_path_factory):
    """space/app.py imported against the test generators and launched on a free port; every
    visitor's folder lives in a temporary folder, and training stops after TRAIN_STEPS steps.
    The app module's events and zerogpu modules are reachable as app.events and app.zerogpu."""
    saved = pretrained.CHECKPOINT_DIR
    pretrained.CHECKPOINT_DIR = checkpoints
    env = {
        "DCGAN_SPACE_SESSIONS": str(tmp_path_factory.mktemp("sessions")),
        "DCGAN_SPACE_TRAIN_STEPS": str(TRAIN_STEPS),
    }
    saved_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    app = import_space_app()
    app.events, app.zerogpu = sys.modules["events"], sys.modules["zerogpu"]
    app.training = sys.modules["training"]
    port = free_port()
    app.demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **app.LAUNCH,  # the languages, the CSS (with the Chinese font) and the upload limit
    )
    url = f"http://127.0.0.1:{port}/"
    yield app, url
    app.demo.close()
    live.close_spare()
    for path in app.events.SESSIONS.iterdir():  # no run may outlive the test
        live.discard(path)
    pretrained.CHECKPOINT_DIR = saved
    for k, v in saved_env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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
    assert names == {
        "model", "sample", "interp", "frame", "pool", "arithmetic", "relu", "shapes",
        "train", "stop", "upload",
    }  # fmt: skip

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
    ("/sample", ("no-such-model", 0, 4), "Generator must be one of tiny-32 or tiny-64"),
    ("/sample", (["tiny-32"], 0, 4), "Generator must be one of"),
    ("/interp", ("tiny-32", 1, 2, "slerp", 1), "Images in the strip 1 is out of range"),
    ("/interp", ("tiny-32", 1, 2, "slerp", 1000), "Images in the strip 1000 is out of range"),
    ("/interp", ("tiny-32", 1, 2, "curve", 5), "Path must be one of lerp or slerp"),
    ("/frame", ("tiny-32", 1, 2, "lerp", 1.5), "t 1.5 is out of range"),
    ("/frame", ("tiny-32", 1, 2, "lerp", "half"), "t must be a number"),
    ("/pool", ("tiny-32", 0, "25"), "Grid size must be one of 16, 24, 32, or 48"),
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


# ------------------------------------------------------------------ the Train tab


def new_grids(outputs) -> list[np.ndarray]:
    """The grids a /train stream sent, in order (a skipped update is not a path)."""
    return [pixels(o[1]) for o in outputs if isinstance(o[1], str)]


def test_train_streams_a_live_run_and_the_result_is_yours(space, tmp_path):
    """A visitor presses Train: the grid changes as G learns, the run ends with a download
    that `python -m dcgan.sample` loads, and the Samples tab now draws from that generator,
    for this visitor only."""
    app, url = space
    c = gradio_client.Client(url, verbose=False)
    with pytest.raises(AppError, match="you have not trained one yet"):
        c.predict(app.YOURS, 0, 4, api_name="/sample")

    job = c.submit("shapes", 30, api_name="/train")
    job.result(timeout=300)
    outputs = job.outputs()
    grids = new_grids(outputs)
    assert len(grids) >= 2 and grids[0].shape == (8 * 34 + 2, 8 * 34 + 2, 3)  # 64 of 32 px
    assert any(not np.array_equal(grids[0], g) for g in grids[1:])  # G learned something
    text, _, table, download, pick = outputs[-1]
    assert "Done" in text and f"step {TRAIN_STEPS}" in text
    assert pick["value"] == app.YOURS
    network = table["columns"].index("network")  # the loss chart: one series per network
    assert sorted(row[network] for row in table["data"]).count("G") == TRAIN_STEPS
    assert {row[network] for row in table["data"]} == {"D", "G"}

    path = download["value"]
    G, cfg, _ = load_generator(path)
    meta = read_metadata(path)
    assert (cfg.image_size, meta["dataset"], meta["step"]) == (32, "shapes", str(TRAIN_STEPS))
    r = subprocess.run(
        [sys.executable, "-m", "dcgan.sample", "--checkpoint", path, "--n", "4"]
        + ["--out", str(tmp_path / "cli.png")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0 and (tmp_path / "cli.png").exists(), r.stderr[-2000:]

    # the other tabs now sample this visitor's generator: the same images as the download
    served = pixels(c.predict(app.YOURS, 3, 4, api_name="/sample"))
    with torch.inference_mode():
        local = grid_image(latent.generate(G, latent.sample_z(4, cfg.nz, 3)), nrow=2)
    assert np.array_equal(served, np.asarray(local.convert("RGB")))
    info = c.predict(
        app.YOURS, 0, 4, 1, 2, "lerp", 3, 0.5, 0, "16", "0", "1", "2", 1, -1, 1, 0.0,
        api_name="/model",
    )[0]  # fmt: skip
    assert "Train tab" in info and f"step: {TRAIN_STEPS}" in info
    # ...and only this visitor's: another session has no such generator
    stranger = gradio_client.Client(url, verbose=False)
    with pytest.raises(AppError, match="you have not trained one yet"):
        stranger.predict(app.YOURS, 3, 4, api_name="/sample")


def test_stop_ends_a_run_early_and_sampling_never_waits_behind_it(space, monkeypatch):
    """While a run trains (it would go on for a minute), another visitor's /sample answers;
    Stop ends the run within moments and its generator is still the visitor's."""
    app, url = space
    monkeypatch.setattr(app.training, "TRAIN_STEP_CAP", None)  # only the clock (or Stop) ends it
    c = gradio_client.Client(url, verbose=False)
    job = c.submit("shapes", 60, api_name="/train")
    for out in job:  # wait until it trains: a streamed line with a step count
        if "step" in out[0] and "loading" not in out[0]:
            break
    other = gradio_client.Client(url, verbose=False)
    assert pixels(other.predict("tiny-32", 0, 4, api_name="/sample")).shape == (70, 70, 3)
    assert not job.done()  # the run was still live while the sample was answered
    c.predict(api_name="/stop")
    job.result(timeout=120)
    text, *_, download, pick = job.outputs()[-1]
    step = int(text.split("step ")[1].split()[0])
    assert "Done" in text and 1 <= step < 60 * live.MAX_STEPS_PER_S
    assert load_generator(download["value"])[1].image_size == 32
    assert pick["value"] == app.YOURS


BAD_TRAIN = [
    (("pokemon", 30), "Dataset must be one of shapes"),
    ((["shapes"], 30), "Dataset must be one of shapes"),
    (("shapes", 1000), "Seconds 1000 is out of range"),
    (("shapes", 1), "Seconds 1 is out of range"),
    (("shapes", "soon"), "Seconds must be a whole number"),
]


def test_train_rejects_bad_values_by_name(client):
    """Every bad Train value gets the Space's own message naming the field; nothing starts."""
    for args, message in BAD_TRAIN:
        with pytest.raises(AppError) as err:
            client.predict(*args, api_name="/train")
        assert message in str(err.value), (args, str(err.value))


def test_spaces_decorator_is_a_no_op_off_zerogpu(space):
    """The real `spaces` package is installed; off ZeroGPU its decorator returns the function
    itself, plain or generator, so the Space trains in its own process here."""
    app, _ = space
    import spaces

    def plain(x):
        return x

    def streaming():
        yield 1

    assert spaces.GPU(plain) is plain and spaces.GPU(duration=60)(streaming) is streaming
    assert app.ZERO_GPU is False and app.zerogpu.train_on_gpu is app.zerogpu._train_on_gpu


def test_in_process_run_streams_like_the_zerogpu_path(tmp_path):
    """train_here (what ZeroGPU runs inside its GPU call) streams frames that pickle, ends
    with a generator file and releases the visitor's folder."""
    import pickle

    frames = list(live.train_here("shapes", tmp_path, 60, max_steps=6, poll=0.05))
    last = frames[-1]
    assert last.status == "finished" and last.step == 6
    assert any(f.grid is not None and f.grid.dtype == np.uint8 for f in frames)
    assert pickle.loads(pickle.dumps(last)).generator == last.generator
    assert load_generator(last.generator)[1].image_size == 32
    assert live.runs.read_lock(tmp_path) is None


def test_a_visitor_who_leaves_stops_their_run(tmp_path):
    """Closing the stream (the tab closed, the request cancelled) stops the run; discarding
    the visitor's folder removes it."""
    from dcgan.runs.handle import RunHandle

    run_dir = live.start("shapes", tmp_path, 60, max_steps=100_000)
    frames = live.follow(run_dir, 60, poll=0.05)
    for f in frames:
        if f.step >= 1:
            break
    frames.close()
    handle = RunHandle(run_dir)
    assert handle.wait(60)
    assert handle.status()["status"] == "stopped"
    live.discard(tmp_path)
    assert not tmp_path.exists()


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
        alone = pixels(app.sample("tiny-64", seed, 9))
        assert np.array_equal(grid, alone), seed  # per-request generators: no cross-talk


def hold_generate(monkeypatch) -> tuple[threading.Event, list, list]:
    """Make every latent.generate call (the Space's for each sample grid) wait for the returned
    gate: (gate, the calls running now, the most that ran at once)."""
    gate, running, most = threading.Event(), [], [0]
    lock = threading.Lock()
    real = latent.generate

    def held(G, z, *args, **kwargs):
        with lock:
            running.append(1)
            most[0] = max(most[0], len(running))
        try:
            gate.wait(120)
            return real(G, z, *args, **kwargs)
        finally:
            with lock:
                running.pop()

    monkeypatch.setattr(latent, "generate", held)
    return gate, running, most


def test_queue_runs_a_few_at_once_and_turns_the_overflow_away(space, client, monkeypatch):
    """CONCURRENCY requests run at once, QUEUE_SIZE wait their turn, and any more are turned
    away at once with a message rather than left to time out."""
    app, _ = space
    gate, running, most = hold_generate(monkeypatch)
    try:
        first = [client.submit("tiny-32", i, 1, api_name="/sample") for i in range(app.CONCURRENCY)]
        assert wait_for(lambda: len(running) == app.CONCURRENCY, timeout=60)
        extra = 3
        rest = [
            client.submit("tiny-32", i, 1, api_name="/sample")
            for i in range(app.QUEUE_SIZE + extra)
        ]
        assert wait_for(lambda: sum(j.done() for j in rest) >= extra, timeout=60)
    finally:
        gate.set()
    refused = []
    for j in first + rest:
        try:
            j.result(timeout=120)
        except Exception as e:  # the client raises its own error for a refused request
            refused.append(str(e))
    assert len(refused) == extra and all("full" in r.lower() for r in refused), refused
    assert most[0] == app.CONCURRENCY


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
        'python_version: "3.12.12"',  # one ZeroGPU offers; the code needs 3.11+ (StrEnum)
        "suggested_hardware: zero-a10g",
    ):
        assert line in front
    pins = (out / "requirements.txt").read_text().split()
    dev = (ROOT / "requirements-dev.txt").read_text().split()
    spaces_pin = next(p for p in pins if p.startswith("spaces=="))
    assert spaces_pin in dev  # the Space runs the `spaces` the tests ran against
    assert not (out / "data").exists()  # no dataset unless asked for
    assert (out / "static" / "noto-sans-sc-subset.woff2").stat().st_size > 100_000  # Chinese
    assert sorted(p.name for p in out.glob("*.py")) == [
        "app.py", "checks.py", "events.py", "files.py", "lang.py", "training.py", "uploads.py",
        "zerogpu.py",
    ]  # fmt: skip
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DCGAN_SPACE_SPARE": "0",  # an import check: no spare training process
    }
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


def test_build_bundles_fashion_mnist_only_when_asked_with_its_licence(checkpoints, tmp_path):
    """--fashion-mnist copies the four files and the MIT notice; a folder missing one is named."""
    b = load_build()
    src = tmp_path / "fm"
    src.mkdir()
    for name in b.FASHION_FILES[:3]:
        (src / name).write_bytes(b"\x1f\x8b")
    with pytest.raises(b.BuildError, match="t10k-labels-idx1-ubyte.gz"):
        b.build(tmp_path / "space", checkpoints, src)
    (src / b.FASHION_FILES[3]).write_bytes(b"\x1f\x8b")
    out = b.build(tmp_path / "space", checkpoints, src)
    bundled = sorted(p.name for p in (out / "data" / "fashion-mnist").iterdir())
    assert bundled == sorted([*b.FASHION_FILES, "LICENSE"])
    assert "Copyright (c) 2017 Zalando SE" in (out / "data/fashion-mnist/LICENSE").read_text()


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


# ------------------------------------------------------------------ what Hugging Face accepts


def test_front_matter_is_what_the_hub_and_zerogpu_accept():
    """space/README.md's front matter passes every rule; each rule fails on its first bad
    value (a 61-character description, an unknown key, a wrong type, an unlisted Python or
    torch), so the build cannot ship what the Hub would refuse."""
    b = load_build()
    meta = b.front_matter((ROOT / "space" / "README.md").read_text())
    pins = (ROOT / "space" / "requirements.txt").read_text()
    assert b.check_front_matter(meta, pins) == []
    assert len(meta["short_description"]) <= 60 and meta["python_version"] == "3.12.12"

    def problems(**change):
        return b.check_front_matter({**meta, **change}, pins)

    assert problems(short_description="x" * 60) == []
    assert problems(short_description="x" * 61) == [
        "short_description is 61 characters: the Hub takes at most 60"
    ]
    assert "not in the Spaces config reference" in problems(hardware="zero-a10g")[0]
    assert "wrong type" in problems(pinned="yes")[0]
    assert "wrong type" in problems(tags="gan")[0]
    assert "not one ZeroGPU runs" in problems(python_version="3.12")[0]
    assert "must pin one release" in problems(sdk_version="6")[0]
    assert "must be one of" in problems(colorTo="teal")[0]
    assert "not one ZeroGPU lists" in b.check_front_matter(meta, "torch==2.14.1\n")[0]


def test_a_build_with_bad_front_matter_is_refused(checkpoints, tmp_path, monkeypatch):
    """The build itself runs the check: a README the Hub would refuse stops it with a line
    naming the problem, and nothing is written."""
    b = load_build()
    space = tmp_path / "space-src"
    space.mkdir()
    for name in b.SPACE_FILES:
        (space / name).write_bytes((ROOT / "space" / name).read_bytes())
    readme = (space / "README.md").read_text()
    desc = b.front_matter(readme)["short_description"]
    (space / "README.md").write_text(readme.replace(desc, desc + " and more"))
    monkeypatch.setattr(b, "ROOT", tmp_path)
    (tmp_path / "space").symlink_to(space)
    with pytest.raises(b.BuildError, match="short_description is .. characters"):
        b.build(tmp_path / "out", checkpoints)
    assert not (tmp_path / "out").exists()


class FakeHfApi:
    """HfApi's create_repo and upload_folder, checking their arguments as the Hub would; it can
    play a free account (no CPU hardware) or a refused token."""

    def __init__(self, plan: str = "free", status: int | None = None):
        self.plan, self.status, self.calls = plan, status, []

    def _refuse(self, status: int):
        import httpx
        from huggingface_hub.errors import HfHubHTTPError

        request = httpx.Request("POST", "https://huggingface.co/api/repos/create")
        response = httpx.Response(status, request=request)
        raise HfHubHTTPError(f"{status} Client Error", response=response)

    def create_repo(self, repo_id, **kw):
        from huggingface_hub import SpaceHardware

        assert set(kw) <= {"repo_type", "space_sdk", "space_hardware", "exist_ok", "private"}
        assert kw["repo_type"] == "space" and kw["space_sdk"] == "gradio" and kw["exist_ok"]
        assert kw["space_hardware"] in {h.value for h in SpaceHardware}
        self.calls.append(("create_repo", repo_id, kw))
        if self.status:
            self._refuse(self.status)
        if self.plan == "free" and kw["space_hardware"] != "zero-a10g":
            self._refuse(402)  # payment required: CPU hardware needs a paid plan
        return f"https://huggingface.co/spaces/{repo_id}"

    def upload_folder(self, *, repo_id, repo_type, folder_path, commit_message, delete_patterns):
        assert repo_type == "space" and (Path(folder_path) / "app.py").exists()
        self.calls.append(("upload_folder", repo_id, folder_path))
        return type("Info", (), {"commit_url": f"https://huggingface.co/spaces/{repo_id}/c/1"})()


def test_push_creates_a_zerogpu_space_and_refuses_clearly(checkpoints, tmp_path):
    """make space-push: ZeroGPU by default, paid CPU hardware on request; a free account asking
    for CPU hardware, a refused token or a missing one each get one line saying what to do."""
    b = load_build()
    out = b.build(tmp_path / "space", checkpoints)
    api = FakeHfApi()
    assert b.push(out, "alice/dcgan", "tok", api=api).endswith("/c/1")
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][2]["space_hardware"] == "zero-a10g"

    paid = FakeHfApi(plan="pro")
    b.push(out, "alice/dcgan", "tok", hardware="cpu-basic", api=paid)
    assert paid.calls[0][2]["space_hardware"] == "cpu-basic"

    with pytest.raises(b.BuildError) as err:
        b.push(out, "alice/dcgan", "tok", hardware="cpu-basic", api=FakeHfApi())
    assert "cannot have cpu-basic" in str(err.value) and "2 ZeroGPU Spaces" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(b.BuildError, match="HF_TOKEN was refused"):
        b.push(out, "alice/dcgan", "tok", api=FakeHfApi(status=401))
    with pytest.raises(b.BuildError, match="must be one of zero-a10g"):
        b.push(out, "alice/dcgan", "tok", hardware="h100", api=FakeHfApi())
    with pytest.raises(b.BuildError, match="HF_TOKEN is not set"):
        b.push(out, "alice/dcgan", None, api=FakeHfApi())


def test_fashion_mnist_build_lists_its_dataset(checkpoints, tmp_path):
    """A build that bundles Fashion-MNIST names it in the front matter (datasets)."""
    b = load_build()
    src = tmp_path / "fm"
    src.mkdir()
    for name in b.FASHION_FILES:
        (src / name).write_bytes(b"\x1f\x8b")
    out = b.build(tmp_path / "space", checkpoints, src)
    meta = b.front_matter((out / "README.md").read_text())
    assert meta["datasets"] == [b.FASHION_DATASET] and b.check_front_matter(meta) == []


# ------------------------------------------------------------------ the server's hygiene


def test_cpu_quota_follows_the_cgroup_not_the_host(space, tmp_path):
    """Threads come from the container's quota (cpu.max) within the affinity mask, not from
    os.cpu_count(), which counts the host's CPUs."""
    cpu_quota = space[0].zerogpu.cpu_quota
    cores = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")
    assert cpu_quota(cpu_max) == cores
    cpu_max.write_text("100000 100000\n")  # one CPU's worth
    assert cpu_quota(cpu_max) == 1
    cpu_max.write_text("50000 100000\n")  # half a CPU still gets a thread
    assert cpu_quota(cpu_max) == 1
    cpu_max.write_text(f"{(cores + 4) * 100000} 100000\n")  # a quota above the mask
    assert cpu_quota(cpu_max) == cores
    assert cpu_quota(tmp_path / "missing") == cores


def test_the_sweep_runs_on_its_timer_and_spares_live_folders(space):
    """The timer's tick removes folders of visitors gone for SESSION_MAX_AGE_S, keeps recent
    ones, and runs at most once per SWEEP_EVERY_S however many pages tick."""
    events = space[0].events
    old, recent = events.SESSIONS / "gone-visitor", events.SESSIONS / "recent-visitor"
    for d in (old, recent):
        (d / "yours").mkdir(parents=True)
        (d / "yours" / "g.safetensors").write_bytes(b"x")
    stale = time.time() - events.SESSION_MAX_AGE_S - 60
    for p in [old, *old.rglob("*")]:
        os.utime(p, (stale, stale))
    events._last_sweep[0] = 0.0
    events.sweep_tick()
    assert not old.exists() and recent.exists()
    for p in [recent, *recent.rglob("*")]:
        os.utime(p, (stale, stale))
    events.sweep_tick()  # within SWEEP_EVERY_S of the last: nothing runs
    assert recent.exists()
    events._last_sweep[0] -= events.SWEEP_EVERY_S + 1
    events.sweep_tick()
    assert not recent.exists()


def test_one_limit_holds_across_every_sampling_endpoint(space, monkeypatch):
    """Flooding /sample, /interp and /arithmetic at once never runs more than CONCURRENCY
    generator calls: the limit is shared by every sampling event (one concurrency_id), not one
    per endpoint. The six identical /arithmetic requests draw the same pictures, which Gradio
    alone would rewrite while another client downloads them (files.py); each download here
    must arrive whole."""
    app, url = space
    gate, running, most = hold_generate(monkeypatch)
    c = gradio_client.Client(url, verbose=False)
    jobs = []
    try:
        for i in range(6):
            jobs.append(c.submit("tiny-32", i, 1, api_name="/sample"))
            jobs.append(c.submit("tiny-32", i, i + 1, "lerp", 3, api_name="/interp"))
            jobs.append(
                c.submit("tiny-32", 0, "16", "0", "1", "2", 1, -1, 1, 0.0, api_name="/arithmetic")
            )
        assert wait_for(lambda: len(running) >= app.CONCURRENCY, timeout=60)
        # every other request has reached the server's queue and waits there: a limit per
        # endpoint would have started one of each kind by now
        waiting = len(jobs) - app.CONCURRENCY
        assert wait_for(
            lambda: sum(j.status().code.name == "IN_QUEUE" for j in jobs) == waiting, timeout=60
        )
        assert len(running) == app.CONCURRENCY
    finally:
        gate.set()
    for j in jobs:
        j.result(timeout=120)
    assert most[0] == app.CONCURRENCY


def test_images_are_written_once_and_old_ones_are_swept(space, tmp_path, monkeypatch):
    """The same picture is one file, written whole; files older than PNG_MAX_AGE_S go, and a
    picture drawn again is fresh, so the sweep never takes it from under Gradio."""
    files = sys.modules["files"]
    monkeypatch.setattr(files, "PNG_DIR", tmp_path / "png")
    a = files.png_file(Image.new("RGB", (8, 8), "red"))
    assert files.png_file(Image.new("RGB", (8, 8), "red")) == a
    b = files.png_file(Image.new("RGB", (8, 8), "blue"))
    assert a != b and Image.open(a).getpixel((0, 0)) == (255, 0, 0)
    assert sorted(p.suffix for p in (tmp_path / "png").iterdir()) == [".png", ".png"]  # no .part
    old = time.time() - files.PNG_MAX_AGE_S - 10
    os.utime(a, (old, old))
    assert files.sweep_pngs() == 1 and not Path(a).exists() and Path(b).exists()
    os.utime(b, (old, old))
    assert files.png_file(Image.new("RGB", (8, 8), "blue")) == b  # drawn again: fresh
    assert files.sweep_pngs() == 0 and Path(b).exists()

"""DCGAN Playground on a Hugging Face Space: train a small DCGAN live for a minute, then sample,
interpolate and do vector arithmetic with it or with the shipped generators, plus the chapter's
LeakyReLU plot and shape calculator.

Longer than the house's 400 lines on purpose: it keeps Gradio's demo/*/run.py shape (plain
functions, one gr.Blocks layout, one line wiring each event), which splitting would hide.

A thin consumer of the dcgan package (the Streamlit pages share the same code). It runs on free
CPU hardware and on ZeroGPU. Every input is checked here, on the server, because a client can
send anything: out-of-range or wrongly typed values get a gr.Error that says what to send.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path

# dcgan/ sits beside this file in the built Space (build/space) and one folder up in the repo
HERE = Path(__file__).resolve().parent
for _root in (HERE, HERE.parent):
    if (_root / "dcgan" / "__init__.py").is_file():
        sys.path.insert(0, str(_root))
        break

# a build with --fashion-mnist bundles it (MIT licence) beside this file for the Train tab
if (HERE / "data" / "fashion-mnist").is_dir():
    os.environ.setdefault("DCGAN_FASHION_MNIST_DIR", str(HERE / "data" / "fashion-mnist"))

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402  (gradio's own dependency: the loss chart's table)
import torch  # noqa: E402

from dcgan import explain, latent, live, plots, pretrained  # noqa: E402
from dcgan.checkpoint import load_generator, read_metadata  # noqa: E402
from dcgan.data import source_label  # noqa: E402
from dcgan.images import grid_image, numbered_grid_image  # noqa: E402
from dcgan.models import trace_shapes  # noqa: E402

try:  # the real `spaces` package: on ZeroGPU it lends a GPU per call, elsewhere a no-op
    import spaces
    import spaces.config
except ImportError:  # a plain `pip install gradio` machine
    spaces = None
# the package's own switch (SPACES_ZERO_GPU, set by Hugging Face on ZeroGPU hardware)
ZERO_GPU = spaces is not None and spaces.config.Config.zero_gpu

MAX_SEED = 2**31 - 1  # JavaScript-safe, and what torch.manual_seed takes everywhere
MAX_SAMPLES = 64  # an 8x8 grid, the chapter's figure; bench/space_latency.py times it
MAX_STEPS = 16  # images in an interpolation strip
POOL_SIZES = ("16", "24", "32", "48")  # candidates in the vector-arithmetic grid
MAX_PICKS = 8  # samples per arithmetic group; the paper averages three
CONCURRENCY = int(os.environ.get("DCGAN_SPACE_CONCURRENCY", "2"))  # one per free-CPU core
QUEUE_SIZE = 32  # waiting requests beyond this are turned away rather than left to time out
# Training, one run at a time on a CPU Space: its process takes the core the sampling requests
# do not use; a second run would halve both. On ZeroGPU each run is its own GPU call, and
# ZeroGPU queues those itself.
TRAIN_CONCURRENCY = 2 if ZERO_GPU else 1
# the run's cap (counted from its first step): a minute on CPU; on ZeroGPU the whole GPU call,
# loading and the final export included, must fit GPU_DURATION, ZeroGPU's default of 60 s: a
# visitor with a free account's few minutes of daily GPU quota gets a few runs a day, and a
# request for more than the default would queue behind shorter ones
TRAIN_SECONDS = 40 if ZERO_GPU else live.SECONDS
GPU_DURATION = 60
MIN_SECONDS = 5  # shorter runs show nothing but noise
# tests and the browser check cap the steps (env), so a run ends in seconds; None = the clock
TRAIN_STEP_CAP = int(os.environ.get("DCGAN_SPACE_TRAIN_STEPS", "0")) or None
# each visitor's runs and trained generator live in a folder of their own, removed when the tab
# closes (demo.unload) or, for a visitor who never said goodbye, after SESSION_MAX_AGE_S idle
SESSIONS = Path(
    os.environ.get("DCGAN_SPACE_SESSIONS", Path(tempfile.gettempdir()) / "dcgan-space-sessions")
)
SESSION_MAX_AGE_S = 2 * 3600
# one training process waits with torch imported, so Train shows a grid in about a second
SPARE = not ZERO_GPU and os.environ.get("DCGAN_SPACE_SPARE", "1") != "0"
YOURS = "yours (Train tab)"  # the Generator menu's entry for this visitor's trained model
# samples travel at their own size (small, quick) and the browser scales them up, sharply
CSS = (
    ".pixelated img { image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }"
)


def gpu(fn, **kw):
    """spaces.GPU on ZeroGPU hardware; the package returns fn unchanged everywhere else."""
    return spaces.GPU(fn, **kw) if spaces is not None else fn


# ------------------------------------------------------------------ input checks


def _show(value) -> str:
    """A short repr of a client's value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def whole(value, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi], or a gr.Error naming the field and the range."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise gr.Error(f"{name} must be a whole number from {lo} to {hi}, not {_show(value)}.")
    if not lo <= value <= hi:
        raise gr.Error(f"{name} {value} is out of range: choose a whole number from {lo} to {hi}.")
    return value


def real(value, name: str, lo: float, hi: float) -> float:
    """A finite number in [lo, hi] (tiny overshoots from slider rounding are clamped)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise gr.Error(f"{name} must be a number from {lo:g} to {hi:g}, not {_show(value)}.")
    if not lo - 1e-6 <= value <= hi + 1e-6:
        raise gr.Error(f"{name} {value:g} is out of range: choose from {lo:g} to {hi:g}.")
    return float(min(max(value, lo), hi))


def choice(value, name: str, options) -> str:
    """One of the allowed options, or a gr.Error listing them."""
    if not isinstance(value, str) or value not in options:
        raise gr.Error(f"{name} must be one of {', '.join(map(str, options))}, not {_show(value)}.")
    return value


def flag(value, name: str) -> bool:
    """A true/false switch."""
    if not isinstance(value, bool):
        raise gr.Error(f"{name} must be true or false, not {_show(value)}.")
    return value


def picks(value, name: str, pool: int) -> list[int]:
    """Sample numbers typed as '0, 3, 7': 1 to MAX_PICKS distinct indices into the grid."""
    if not isinstance(value, str) or len(value) > 200:
        raise gr.Error(f"{name}: type the grid numbers separated by commas, e.g. 0, 3, 7.")
    tokens = value.replace(",", " ").split()
    if not tokens:
        raise gr.Error(f"{name} is empty: pick at least one sample number from the grid.")
    out = []
    for tok in tokens:
        if not tok.isdigit() or int(tok) >= pool:
            raise gr.Error(f"{name}: {_show(tok)} is not a number on the grid (0 to {pool - 1}).")
        if int(tok) not in out:
            out.append(int(tok))
    if len(out) > MAX_PICKS:
        raise gr.Error(f"{name}: pick at most {MAX_PICKS} samples, not {len(out)}.")
    return out


def session_dir(request) -> Path:
    """This visitor's folder (runs and trained generator), named by Gradio's session id."""
    h = getattr(request, "session_hash", None)
    if not isinstance(h, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", h):
        raise gr.Error("This request has no valid session id: reload the page and try again.")
    return SESSIONS / h


def yours(request) -> Path | None:
    """The generator this visitor trained in the Train tab, if any."""
    if request is None:
        return None
    found = sorted((session_dir(request) / "yours").glob("*.safetensors"))
    return found[-1] if found else None


_yours_cache: dict[str, tuple] = {}  # path -> (mtime, G, cfg): a visitor's model, loaded once
_yours_lock = threading.Lock()


def generator(name, request=None):
    """The generator picked in the dropdown: (G, ModelConfig), on the GPU if any."""
    names = list(pretrained.available())
    mine = yours(request)
    if name == YOURS and mine is None:
        raise gr.Error(
            f"Generator {YOURS!r}: you have not trained one yet. Press Train in the Train "
            "tab; when the run ends, its generator is yours here until you close the page."
        )
    name = choice(name, "Generator", names + [YOURS] if mine else names)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if name == YOURS:
        key, mtime = f"{mine}|{device}", mine.stat().st_mtime
        with _yours_lock:
            hit = _yours_cache.get(key)
            if hit is None or hit[0] != mtime:
                G, cfg, _ = load_generator(mine, device=device)
                if len(_yours_cache) >= 64:  # bounded: one small model per recent visitor
                    _yours_cache.pop(next(iter(_yours_cache)))
                _yours_cache[key] = hit = (mtime, G, cfg)
        return hit[1], hit[2]
    if not names:
        raise gr.Error(
            "No generator is shipped with this Space (checkpoints/*.safetensors is empty): "
            "train one in the Train tab."
        )
    G, cfg, _ = pretrained.load(name, device=device)
    return G, cfg


def render(G, z: torch.Tensor) -> torch.Tensor:
    """One batched, gradient-free generator call; images in [-1, 1] on the CPU."""
    with torch.inference_mode():
        return latent.generate(G, z)


# ------------------------------------------------------------------ event functions


def model_info(name, request: gr.Request = None):
    """Markdown about the picked generator, from its safetensors metadata."""
    G, cfg = generator(name, request)
    meta = read_metadata(yours(request)) if name == YOURS else pretrained.describe(name)
    params = sum(p.numel() for p in G.parameters())
    lines = [
        f"**{name}**: {cfg.image_size}×{cfg.image_size} images from a {cfg.nz}-d latent, "
        f"{params / 1e6:.1f} M parameters (ngf {cfg.ngf}).",
    ]
    if "dataset" in meta:  # the name the Streamlit pages show too
        meta = {**meta, "dataset": source_label(meta["dataset"])}
    facts = [
        f"{k.replace('_', ' ')}: {meta[k]}"
        for k in ("dataset", "preset", "step", "wall_seconds", "device")
        if k in meta
    ]
    if facts:
        card = " in the Train tab." if name == YOURS else ". See the model card."
        lines.append("Trained with " + ", ".join(facts) + card)
    return "\n\n".join(lines)


def sample(name, seed, count, request: gr.Request = None):
    """A grid of `count` samples; the seed fixes the latent vectors."""
    seed = whole(seed, "Seed", 0, MAX_SEED)
    count = whole(count, "Number of samples", 1, MAX_SAMPLES)
    G, cfg = generator(name, request)
    images = render(G, latent.sample_z(count, cfg.nz, seed))
    return grid_image(images, nrow=math.ceil(math.sqrt(count)))


def interpolate(name, seed_a, seed_b, mode, steps, request: gr.Request = None):
    """A strip of `steps` images from seed A to seed B, and ‖z‖ along lerp and slerp."""
    seed_a = whole(seed_a, "Seed A", 0, MAX_SEED)
    seed_b = whole(seed_b, "Seed B", 0, MAX_SEED)
    mode = choice(mode, "Path", ("lerp", "slerp"))
    steps = whole(steps, "Images in the strip", 2, MAX_STEPS)
    G, cfg = generator(name, request)
    z0, z1 = latent.sample_z(1, cfg.nz, seed_a), latent.sample_z(1, cfg.nz, seed_b)
    paths = {m: latent.interpolate(z0, z1, steps, m) for m in ("lerp", "slerp")}
    strip = grid_image(render(G, paths[mode]), nrow=steps)
    norms = {m: p.flatten(1).norm(dim=1).numpy() for m, p in paths.items()}
    return strip, plots.norm_figure(norms, cfg.nz)


def frame(name, seed_a, seed_b, mode, t, request: gr.Request = None):
    """The single image at position t (0 = A, 1 = B) along the chosen path."""
    seed_a = whole(seed_a, "Seed A", 0, MAX_SEED)
    seed_b = whole(seed_b, "Seed B", 0, MAX_SEED)
    mode = choice(mode, "Path", ("lerp", "slerp"))
    t = real(t, "t", 0.0, 1.0)
    G, cfg = generator(name, request)
    z0, z1 = latent.sample_z(1, cfg.nz, seed_a), latent.sample_z(1, cfg.nz, seed_b)
    z = (latent.slerp if mode == "slerp" else latent.lerp)(z0, z1, torch.tensor([t]))
    return grid_image(render(G, z), nrow=1)


def candidates(name, seed, pool, request: gr.Request = None):
    """The numbered grid of samples that the arithmetic groups pick from."""
    seed = whole(seed, "Grid seed", 0, MAX_SEED)
    pool = int(choice(pool, "Grid size", POOL_SIZES))
    G, cfg = generator(name, request)
    images = render(G, latent.sample_z(pool, cfg.nz, seed))
    return numbered_grid_image(images, nrow=8, scale=max(1, 192 // cfg.image_size))


def arithmetic(
    name, seed, pool, group_a, group_b, group_c, ca, cb, cc, noise, request: gr.Request = None
):
    """mean(A), mean(B), mean(C) and ca·A + cb·B + cc·C, then 9 results with noise around it."""
    seed = whole(seed, "Grid seed", 0, MAX_SEED)
    pool = int(choice(pool, "Grid size", POOL_SIZES))
    groups = [
        picks(g, f"Group {n}", pool)
        for g, n in zip((group_a, group_b, group_c), "ABC", strict=True)
    ]
    coeffs = tuple(
        real(c, f"Coefficient of {n}", -2.0, 2.0) for c, n in zip((ca, cb, cc), "ABC", strict=True)
    )
    noise = real(noise, "Noise", 0.0, 1.0)
    G, cfg = generator(name, request)
    z = latent.sample_z(pool, cfg.nz, seed)
    a, b, c = (z[g] for g in groups)
    result = latent.vector_arithmetic(a, b, c, coeffs)
    means = torch.cat([g.mean(0, keepdim=True) for g in (a, b, c)])
    around = latent.jitter(result, 9, scale=noise, seed=seed)
    images = render(G, torch.cat([means, result, around]))  # one batch: 4 + 9 images
    return grid_image(images[:4], nrow=4), grid_image(images[4:], nrow=3)


def leaky_relu(alpha, derivative):
    """The chapter's LeakyReLU plot, with D's alpha drawn bold."""
    alpha = real(alpha, "alpha", 0.0, 1.0)
    return plots.leaky_relu_figure(current=alpha, derivative=flag(derivative, "Derivative"))


def shapes(op, n, k, s, p, out_pad, d):
    """Output size of one conv or transposed conv, with the formula written out."""
    op = choice(op, "Layer", ("Conv2d", "ConvTranspose2d"))
    n = whole(n, "Input size n", 1, 1024)
    k = whole(k, "Kernel k", 1, 64)
    s = whole(s, "Stride s", 1, 64)
    p = whole(p, "Padding p", 0, 64)
    out_pad = whole(out_pad, "Output padding", 0, 63)
    d = whole(d, "Dilation d", 1, 16)
    try:
        if op == "Conv2d":
            r = explain.conv_out(n, k, s, p, d)
            figure = None
        else:
            r = explain.conv_transpose_out(n, k, s, p, out_pad, d)
            figure = plots.scatter_figure(min(n, 8), k, s, p) if d == 1 else None
    except explain.ShapeError as e:
        raise gr.Error(str(e)) from e
    text = [f"### {op}: {n} → **{r.out}**", f"`{r.formula}`  \n`{r.substituted}`"]
    if r.alt_formula:
        text.append(f"The chapter's form: `{r.alt_formula}`  \n`{r.alt_substituted}`")
    return "\n\n".join(text), figure


def layers(name, request: gr.Request = None):
    """The picked generator's layers with each output shape, for a batch of one."""
    G, cfg = generator(name, request)
    rows = trace_shapes(G, torch.zeros(1, cfg.nz, 1, 1, device=next(G.parameters()).device))
    return [[r["layer"], r["op"], " × ".join(map(str, r["shape"])), r["params"]] for r in rows]


def show_model(
    name, seed, count, seed_a, seed_b, mode, steps, t, pool_seed, pool,
    group_a, group_b, group_c, ca, cb, cc, noise, request: gr.Request = None,
):  # fmt: skip
    """Everything that depends on the generator, refreshed at once when the page opens or the
    generator changes: info, samples, interpolation, candidates, arithmetic and layers."""
    strip, norm_fig = interpolate(name, seed_a, seed_b, mode, steps, request)
    return (
        model_info(name, request),
        sample(name, seed, count, request),
        strip,
        norm_fig,
        frame(name, seed_a, seed_b, mode, t, request),
        candidates(name, pool_seed, pool, request),
        *arithmetic(name, pool_seed, pool, group_a, group_b, group_c, ca, cb, cc, noise, request),
        layers(name, request),
    )


# ------------------------------------------------------------------ live training


def _train_on_gpu(source: str, folder: str, seconds: int, cap: int | None):
    """The run inside ZeroGPU's GPU call: it trains in this (worker) process and streams plain
    data (live.Frame: numbers and a uint8 array), which pickles back to the server."""
    yield from live.train_here(source, folder, seconds, max_steps=cap)


# decorated once, at import, as ZeroGPU requires; a no-op off ZeroGPU (the package says so)
train_on_gpu = gpu(_train_on_gpu, duration=GPU_DURATION)


def keep_yours(generator_file: str, folder: Path, source: str) -> Path:
    """Copy a finished run's generator into the visitor's folder under a telling file name;
    it replaces their previous one, so a visitor holds one model at a time."""
    meta = read_metadata(generator_file)
    dest_dir = folder / "yours"
    dest_dir.mkdir(parents=True, exist_ok=True)
    for old in dest_dir.glob("*.safetensors"):
        old.unlink(missing_ok=True)
    dest = dest_dir / f"dcgan-{source}-step{meta.get('step', '0')}.safetensors"
    shutil.copyfile(generator_file, dest)
    return dest


def loss_table(f: live.Frame) -> pd.DataFrame:
    """The two loss series in the long form gr.LinePlot draws (one colour per network)."""
    n = len(f.steps)
    return pd.DataFrame(
        {
            "step": f.steps * 2,
            "loss": f.loss_D[:n] + f.loss_G[:n],
            "network": ["D"] * n + ["G"] * n,
        }
    )


def describe_frame(f: live.Frame, label: str) -> str:
    """One status line under the Train button."""
    if f.status == "loading":
        return f"**{label}**: loading the images and starting the trainer… ({f.elapsed:.0f} s)"
    speed = f" · {f.examples_per_sec:.0f} images/s" if f.examples_per_sec else ""
    head = f"**{label}** · step {f.step} · {f.trained:.0f} s of {f.seconds:.0f} s{speed}"
    if f.status == "failed":
        return f"{head}\n\n**The run failed:** {f.error}"
    if f.ended and not f.generator:
        return f"{head}\n\n**Stopped** before it trained: there is no generator to keep."
    if f.ended:
        return (
            f"{head}\n\n**Done.** The grid is what your generator draws now. It is picked "
            "above as **yours**: the Samples, Interpolation and Vector arithmetic tabs use it "
            "until you close this page. Download it to load it in the app or "
            "`python -m dcgan.sample`."
        )
    return head


def train(dataset, seconds, request: gr.Request = None):
    """Train a small DCGAN live and stream its fixed-noise grid and losses about every second.

    A generator function (yield), not gr.Timer: the stream belongs to this one event, so it
    ends when the run does, waits in the training queue like any request (the visitor sees
    their place), and stops the run when the visitor leaves, with no polling event per tab.
    """
    options = live.sources()
    source = choice(dataset, "Dataset", list(options))
    seconds = whole(seconds, "Seconds", MIN_SECONDS, TRAIN_SECONDS)
    folder = session_dir(request)
    live.sweep(SESSIONS, SESSION_MAX_AGE_S)  # folders of visitors who left without a goodbye
    folder.mkdir(parents=True, exist_ok=True)
    # the first answer comes before the run starts: a visitor who leaves here leaves nothing
    yield (
        describe_frame(live.Frame("loading", 0, 0.0, seconds), options[source]),
        None,
        None,
        gr.DownloadButton(value=None, visible=False),
        gr.skip(),
    )
    if ZERO_GPU:
        frames = train_on_gpu(source, str(folder), seconds, TRAIN_STEP_CAP)
    else:  # its own process: sampling requests keep this server's core to themselves
        try:
            run_dir = live.start(source, folder, seconds, max_steps=TRAIN_STEP_CAP)
        except live.runs.JobBusyError as e:
            raise gr.Error(
                "Your previous run is still stopping; press Train again in a moment."
            ) from e
        frames = live.follow(run_dir, seconds)
    try:
        yield from stream(frames, folder, source, options[source])
    finally:
        if not ZERO_GPU and SPARE:
            live.warm()  # the next visitor's process imports while this one looks at results


def stream(frames, folder: Path, source: str, label: str):
    """Each live.Frame as the Train tab's outputs; unchanged outputs are skipped."""
    points = 0
    for f in frames:
        table = gr.skip()
        if len(f.steps) != points or f.ended:
            points, table = len(f.steps), loss_table(f)
        download, pick = gr.skip(), gr.skip()
        if f.ended and f.generator:
            mine = keep_yours(f.generator, folder, source)
            download = gr.DownloadButton(value=str(mine), visible=True)
            pick = gr.Dropdown(value=YOURS)
        grid = f.grid if f.grid is not None else gr.skip()
        yield describe_frame(f, label), grid, table, download, pick


def stop_training(request: gr.Request = None):
    """Stop this visitor's run; it ends within a step and its generator becomes theirs."""
    if not live.stop(session_dir(request)):
        gr.Info("No run of yours is training.")


def end_session(request: gr.Request = None):
    """The tab closed: stop this visitor's run and remove their folder (off the event loop)."""
    try:
        folder = session_dir(request)
    except gr.Error:
        return
    threading.Thread(target=live.discard, args=(folder,), daemon=True).start()


def show_teaching(alpha, derivative, *shape_args):
    """The model-free figures, drawn when the page opens."""
    return leaky_relu(alpha, derivative), *shapes(*shape_args)


# ------------------------------------------------------------------ layout


def pixels(label: str, height: int, **kw) -> gr.Image:
    """An image of G's output: PNG (lossless) and drawn with crisp pixels when enlarged."""
    return gr.Image(label=label, format="png", height=height, elem_classes="pixelated", **kw)


NAMES = list(pretrained.available())
DEFAULT = pretrained.default_name()
if DEFAULT:
    pretrained.load(DEFAULT)  # load once at start-up, not on the first visitor's request

TRAIN_INTRO = (
    "Train a small DCGAN here, now. The grid shows what the generator draws from the same 64 "
    "noise vectors as it learns, and the chart shows the two networks' losses pulling against "
    f"each other. The run stops after the seconds you pick (at most {TRAIN_SECONDS}); one run "
    "trains at a time, so you may wait in a queue that shows your place."
)

with gr.Blocks(title="DCGAN Playground") as demo:
    gr.Markdown(
        "# DCGAN Playground\nA generator maps a noise vector z to an image. Train one live in "
        "the Train tab, or explore what the shipped generators learned, as in the "
        "[d2l.ai DCGAN chapter](https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html)."
    )
    with gr.Row():
        model = gr.Dropdown(NAMES + [YOURS], value=DEFAULT, label="Generator", scale=1)
        info = gr.Markdown()
    with gr.Tabs():
        with gr.Tab("Train"):
            gr.Markdown(TRAIN_INTRO)
            with gr.Row():
                dataset = gr.Radio(
                    [(label, name) for name, label in live.sources().items()],
                    value="shapes",
                    label="Dataset",
                )
                seconds = gr.Slider(
                    MIN_SECONDS, TRAIN_SECONDS, TRAIN_SECONDS, step=5, label="Seconds"
                )
                train_btn = gr.Button("Train", variant="primary", scale=0, min_width=120)
                stop_btn = gr.Button("Stop", variant="stop", scale=0, min_width=120)
            train_md = gr.Markdown("Press **Train**: the grid below starts as noise.")
            with gr.Row():
                live_grid = pixels(
                    "What G draws from 64 fixed noise vectors", 420, elem_id="live-grid"
                )
                loss_plot = gr.LinePlot(
                    x="step", y="loss", color="network", label="Losses", height=420
                )
            download = gr.DownloadButton(
                "Download your generator (.safetensors)", visible=False, elem_id="download"
            )
        with gr.Tab("Samples"):
            with gr.Row():
                seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED)
                count = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="Number of samples")
                sample_btn = gr.Button("Sample", variant="primary", scale=0, min_width=140)
            grid = pixels("Samples", 420)
        with gr.Tab("Interpolation"):
            with gr.Row():
                seed_a = gr.Number(1, label="Seed A", precision=0, minimum=0, maximum=MAX_SEED)
                seed_b = gr.Number(2, label="Seed B", precision=0, minimum=0, maximum=MAX_SEED)
                mode = gr.Radio(["lerp", "slerp"], value="slerp", label="Path")
                steps = gr.Slider(2, MAX_STEPS, 9, step=1, label="Images in the strip")
                interp_btn = gr.Button("Interpolate", variant="primary", scale=0, min_width=140)
            strip = pixels("A → B", 140)
            with gr.Row():
                with gr.Column(scale=1):
                    t = gr.Slider(0, 1, 0.5, step=0.01, label="t (0 = A, 1 = B)")
                    single = pixels("Image at t", 220)
                norm_plot = gr.Plot(label="‖z‖ along the path")
            gr.Markdown(
                "Gaussian samples in many dimensions sit near a sphere of radius √nz, where G "
                "was trained. lerp cuts inside it (its middle images can look washed out); "
                "slerp stays on it."
            )
        with gr.Tab("Vector arithmetic"):
            gr.Markdown(
                "The DCGAN paper's trick: average a few samples that share a feature, then "
                "compute **mean(A) − mean(B) + mean(C)**. Type sample numbers from the grid."
            )
            with gr.Row():
                pool_seed = gr.Number(0, label="Grid seed", precision=0, minimum=0)
                pool = gr.Radio(list(POOL_SIZES), value="24", label="Grid size")
                pool_btn = gr.Button("New grid", scale=0, min_width=140)
            pool_img = gr.Image(label="Candidates", format="png", height=360)
            with gr.Row():
                group_a = gr.Textbox("0, 1, 2", label="Group A")
                group_b = gr.Textbox("3, 4, 5", label="Group B")
                group_c = gr.Textbox("6, 7, 8", label="Group C")
            with gr.Row():
                ca = gr.Slider(-2, 2, 1, step=0.1, label="coefficient of A")
                cb = gr.Slider(-2, 2, -1, step=0.1, label="coefficient of B")
                cc = gr.Slider(-2, 2, 1, step=0.1, label="coefficient of C")
                noise = gr.Slider(0, 1, 0.25, step=0.05, label="noise around the result")
            arith_btn = gr.Button("Compute", variant="primary")
            with gr.Row():
                means_img = pixels("mean(A), mean(B), mean(C), result", 200)
                around_img = pixels("9 results with noise", 200)
        with gr.Tab("LeakyReLU"):
            with gr.Row():
                alpha = gr.Slider(0, 1, 0.2, step=0.05, label="alpha (D's slope for x < 0)")
                derivative = gr.Checkbox(False, label="Show the derivative")
            relu_plot = gr.Plot()
            gr.Markdown(
                "With alpha = 0 (plain ReLU) a negative input passes no gradient back, so D "
                "cannot tell G how to improve there: the chapter's exercise 1."
            )
        with gr.Tab("Shape calculator"):
            with gr.Row():
                layer = gr.Radio(
                    ["Conv2d", "ConvTranspose2d"], value="ConvTranspose2d", label="Layer"
                )
                size_n = gr.Number(16, label="Input size n", precision=0, minimum=1, maximum=1024)
                size_k = gr.Number(4, label="Kernel k", precision=0, minimum=1, maximum=64)
                size_s = gr.Number(2, label="Stride s", precision=0, minimum=1, maximum=64)
                size_p = gr.Number(1, label="Padding p", precision=0, minimum=0, maximum=64)
                size_op = gr.Number(0, label="Output padding", precision=0, minimum=0)
                size_d = gr.Number(1, label="Dilation d", precision=0, minimum=1, maximum=16)
            shape_md = gr.Markdown()
            scatter_plot = gr.Plot(label="Where each input pixel's kernel lands (up to 8×8 inputs)")
            gr.Markdown("### The picked generator, layer by layer (batch of one)")
            layer_table = gr.Dataframe(
                headers=["layer", "op", "output shape", "parameters"], interactive=False
            )

    # what each event reads and writes, then one line per event; preprocess=False hands each
    # function exactly what the client sent, so the checks above see every value unaltered
    on = dict(preprocess=False)
    interp_in = [model, seed_a, seed_b, mode, steps]
    frame_in = [model, seed_a, seed_b, mode, t]
    arith_in = [model, pool_seed, pool, group_a, group_b, group_c, ca, cb, cc, noise]
    shape_in = [layer, size_n, size_k, size_s, size_p, size_op, size_d]
    model_in = [model, seed, count, seed_a, seed_b, mode, steps, t, *arith_in[1:]]
    model_out = [info, grid, strip, norm_plot, single, pool_img, means_img, around_img, layer_table]
    teach_in, teach_out = [alpha, derivative, *shape_in], [relu_plot, shape_md, scatter_plot]
    shape_when = [layer.change, *(x.submit for x in shape_in[1:]), *(x.blur for x in shape_in[1:])]
    sample_when = [sample_btn.click, seed.submit, count.release]
    interp_when = [interp_btn.click, steps.release, mode.change]
    frame_when = [t.change, interp_btn.click, mode.change]
    pool_when = [pool_btn.click, pool_seed.submit, pool.change]
    relu_when = [alpha.change, derivative.change]
    last = dict(trigger_mode="always_last")  # a dragged slider computes only its final value

    gr.on([demo.load, model.change], gpu(show_model), model_in, model_out, api_name="model", **on)
    demo.load(show_teaching, teach_in, teach_out, api_visibility="private", **on)
    gr.on(sample_when, gpu(sample), [model, seed, count], grid, api_name="sample", **on)
    gr.on(interp_when, gpu(interpolate), interp_in, [strip, norm_plot], api_name="interp", **on)
    gr.on(frame_when, gpu(frame), frame_in, single, api_name="frame", **last, **on)
    gr.on(pool_when, gpu(candidates), [model, pool_seed, pool], pool_img, api_name="pool", **on)
    arith_btn.click(gpu(arithmetic), arith_in, [means_img, around_img], api_name="arithmetic", **on)
    gr.on(relu_when, leaky_relu, [alpha, derivative], relu_plot, api_name="relu", **on)
    # training: its own queue (concurrency_id), so sampling events never wait behind a run;
    # the progress (and the queue position) shows on the status line, not over the grid
    train_btn.click(
        train,
        [dataset, seconds],
        [train_md, live_grid, loss_plot, download, model],
        api_name="train",
        concurrency_id="train",
        concurrency_limit=TRAIN_CONCURRENCY,
        show_progress="full",
        show_progress_on=[train_md],
        **on,
    )
    # Stop must answer while the run's event holds the training queue: no queue limit of its own
    stop_btn.click(stop_training, None, None, api_name="stop", concurrency_limit=None)
    demo.unload(end_session)
    gr.on(shape_when, shapes, shape_in, [shape_md, scatter_plot], api_name="shapes", **on)

demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
if SPARE:
    live.warm()

if __name__ == "__main__":
    # the queue runs CONCURRENCY requests at once; give each its share of the cores
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // CONCURRENCY))
    demo.launch(css=CSS)

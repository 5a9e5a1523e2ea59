"""The Space's event functions: what each button, slider and page load computes. The layout
(app.py) wires one of these to each event; the checks (checks.py) guard every value first.
The Train tab's events are in training.py, an upload's in uploads.py.

Sampling runs here, in the server process, on the CPU (zerogpu.py says why, for ZeroGPU too);
a visitor's training run is its own process on CPU hardware and one GPU call on ZeroGPU.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import torch
from checks import (
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    POOL_SIZES,
    choice,
    flag,
    picks,
    real,
    session_id,
    whole,
)
from files import png_file, sweep_pngs

from dcgan import explain, explore, latent, live, plots, pretrained
from dcgan.checkpoint import load_generator, read_metadata
from dcgan.data import source_label
from dcgan.i18n import N_, _, listing, number
from dcgan.images import grid_image
from dcgan.models import trace_shapes

# each visitor's runs and trained generator live in a folder of their own, removed when the tab
# closes (demo.unload) or, for a visitor who never said goodbye, by the sweep after
# SESSION_MAX_AGE_S idle
SESSIONS = Path(
    os.environ.get("DCGAN_SPACE_SESSIONS", Path(tempfile.gettempdir()) / "dcgan-space-sessions")
)
SESSION_MAX_AGE_S = 2 * 3600
SWEEP_EVERY_S = 600  # the sweep runs at most this often, however many pages tick the timer
YOURS = N_("yours (Train tab)")  # the Generator menu's entry for this visitor's trained model
# the safetensors metadata shown under the Generator menu, by key
FACTS = {
    "dataset": N_("dataset"),
    "preset": N_("preset"),
    "step": N_("step"),
    "wall_seconds": N_("wall seconds"),
    "device": N_("device"),
}
DEVICE = "cpu"  # sampling stays on the server's CPU, on ZeroGPU too (see zerogpu.py)


def session_dir(request) -> Path:
    """This visitor's folder (runs and trained generator), named by Gradio's session id."""
    return SESSIONS / session_id(request)


def yours(request) -> Path | None:
    """The generator this visitor trained in the Train tab, if any."""
    if request is None:
        return None
    found = sorted((session_dir(request) / "yours").glob("*.safetensors"))
    return found[-1] if found else None


_yours_cache: dict[str, tuple] = {}  # path -> (mtime, G, cfg): a visitor's model, loaded once
_yours_lock = threading.Lock()


def generator(name, request=None):
    """The generator picked in the dropdown: (G, ModelConfig), on the server's CPU."""
    names = list(pretrained.available())
    mine = yours(request)
    if name == YOURS and mine is None:
        raise gr.Error(
            _(
                "Generator {name!r}: you have not trained one yet. Press Train in the Train "
                "tab; when the run ends, its generator is yours here until you close the page."
            ).format(name=_(YOURS))
        )
    name = choice(name, "Generator", names + [YOURS] if mine else names)
    device = DEVICE  # not torch.cuda.is_available(): ZeroGPU's server says True and has none
    if name == YOURS:
        key, mtime = f"{mine}|{device}", mine.stat().st_mtime
        with _yours_lock:
            hit = _yours_cache.get(key)
            if hit is None or hit[0] != mtime:
                G, cfg, _meta = load_generator(mine, device=device)
                if len(_yours_cache) >= 64:  # bounded: one small model per recent visitor
                    _yours_cache.pop(next(iter(_yours_cache)))
                _yours_cache[key] = hit = (mtime, G, cfg)
        return hit[1], hit[2]
    if not names:
        raise gr.Error(
            _(
                "No generator is shipped with this Space (checkpoints/*.safetensors is empty): "
                "train one in the Train tab."
            )
        )
    G, cfg, _meta = pretrained.load(name, device=device)
    return G, cfg


def render(G, z: torch.Tensor) -> torch.Tensor:
    """One batched, gradient-free generator call; images in [-1, 1] on the CPU."""
    with torch.inference_mode():
        return latent.generate(G, z)


# ------------------------------------------------------------------ event functions


def fact_value(text: str) -> str:
    """A generator file's metadata value as the reader writes it: numbers in their locale
    (safetensors metadata holds strings, so "752.0" is a number too)."""
    try:
        x = float(text)
    except (TypeError, ValueError):
        return str(text)
    return number(int(x)) if x.is_integer() else number(x, 1)


def model_info(name, request: gr.Request = None):
    """Markdown about the picked generator, from its safetensors metadata."""
    G, cfg = generator(name, request)
    meta = read_metadata(yours(request)) if name == YOURS else pretrained.describe(name)
    params = sum(p.numel() for p in G.parameters())
    lines = [
        _(
            "**{name}**: {size}×{size} images from a {nz}-d latent, {millions} M parameters "
            "(ngf {ngf})."
        ).format(
            name=_(YOURS) if name == YOURS else name,
            size=cfg.image_size,
            nz=cfg.nz,
            millions=number(params / 1e6, 1),
            ngf=cfg.ngf,
        ),
    ]
    if "dataset" in meta:  # the name the Streamlit pages show too
        meta = {**meta, "dataset": source_label(meta["dataset"])}
    facts = [
        _("{name}: {value}").format(name=_(FACTS[k]), value=fact_value(meta[k]))
        for k in ("dataset", "preset", "step", "wall_seconds", "device")
        if k in meta
    ]
    if facts:
        lines.append(
            (
                _("Trained with {facts} in the Train tab.")
                if name == YOURS
                else _("Trained with {facts}. See the model card.")
            ).format(facts=listing(facts))
        )
    return "\n\n".join(lines)


def sample(name, seed, count, request: gr.Request = None):
    """A grid of `count` samples; the seed fixes the latent vectors."""
    seed = whole(seed, "Seed", 0, MAX_SEED)
    count = whole(count, "Number of samples", 1, MAX_SAMPLES)
    G, cfg = generator(name, request)
    images = render(G, latent.sample_z(count, cfg.nz, seed))
    return png_file(grid_image(images, nrow=math.ceil(math.sqrt(count))))


def interpolate(name, seed_a, seed_b, mode, steps, request: gr.Request = None):
    """A strip of `steps` images from seed A to seed B, and ‖z‖ along lerp and slerp."""
    seed_a = whole(seed_a, "Seed A", 0, MAX_SEED)
    seed_b = whole(seed_b, "Seed B", 0, MAX_SEED)
    mode = choice(mode, "Path", ("lerp", "slerp"))
    steps = whole(steps, "Images in the strip", 2, MAX_STEPS)
    G, cfg = generator(name, request)
    strips = explore.strips(G, cfg.nz, seed_a, seed_b, steps)  # both paths, kept per generator
    return png_file(strips.png[mode]), plots.norm_figure(strips.norms, cfg.nz)


def frame(name, seed_a, seed_b, mode, t, request: gr.Request = None):
    """The single image at position t (0 = A, 1 = B) along the chosen path."""
    seed_a = whole(seed_a, "Seed A", 0, MAX_SEED)
    seed_b = whole(seed_b, "Seed B", 0, MAX_SEED)
    mode = choice(mode, "Path", ("lerp", "slerp"))
    t = real(t, "t", 0.0, 1.0)
    G, cfg = generator(name, request)
    # kept per generator: a class dragging the slider asks for the same few positions again
    return png_file(explore.at_t(G, cfg.nz, seed_a, seed_b, t, framed=True)[mode][0])


def candidates(name, seed, pool, request: gr.Request = None):
    """The numbered grid of samples that the arithmetic groups pick from."""
    seed = whole(seed, "Grid seed", 0, MAX_SEED)
    pool = int(choice(pool, "Grid size", POOL_SIZES))
    G, cfg = generator(name, request)
    # 64 px a cell at least (readable numbers), no more: the browser enlarges it sharply,
    # and a 3x grid's PNG took longer to encode than the generator took to draw it
    scale = max(1, 64 // cfg.image_size)
    return png_file(explore.pool(G, cfg.nz, seed, pool, nrow=8, scale=scale).grid)


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
    return png_file(grid_image(images[:4], nrow=4)), png_file(grid_image(images[4:], nrow=3))


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
        text.append(
            _("The chapter's form: {formula}").format(formula=f"`{r.alt_formula}`")
            + f"  \n`{r.alt_substituted}`"
        )
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


def end_session(request: gr.Request = None):
    """The tab closed: stop this visitor's run and remove their folder (off the event loop)."""
    try:
        folder = session_dir(request)
    except gr.Error:
        return
    threading.Thread(target=live.discard, args=(folder,), daemon=True).start()


def show_teaching(alpha, derivative, op, n, k, s, p, out_pad, d):
    """The model-free figures, drawn when the page opens."""
    return leaky_relu(alpha, derivative), *shapes(op, n, k, s, p, out_pad, d)


_last_sweep = [0.0]  # monotonic time of the last sweep, shared by every page's timer
_sweep_lock = threading.Lock()


def sweep_tick() -> None:
    """The timer's tick: remove the folders of visitors who left without a goodbye (an API
    client, a crashed browser), at most once per SWEEP_EVERY_S however many pages tick."""
    with _sweep_lock:
        if time.monotonic() - _last_sweep[0] < SWEEP_EVERY_S and _last_sweep[0]:
            return
        _last_sweep[0] = time.monotonic()
    live.sweep(SESSIONS, SESSION_MAX_AGE_S)
    sweep_pngs()

"""DCGAN Playground on a Hugging Face Space: train a small DCGAN live for a minute, then sample,
interpolate and do vector arithmetic with it or with the shipped generators, plus the chapter's
LeakyReLU plot and shape calculator.

This file is the layout: one gr.Blocks, then one line wiring each event to its function in
events.py (training.py for the Train tab, uploads.py for a visitor's zip of images). checks.py
guards every value a client sends; files.py writes the images sent; zerogpu.py knows the
hardware (ZeroGPU or CPU) and holds the one GPU function; lang.py speaks each visitor's
language, from the app's catalogs. A thin consumer of the dcgan package, which the Streamlit
pages share.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# dcgan/ sits beside this file in the built Space (build/space) and one folder up in the repo;
# its own modules (checks.py, events.py, lang.py, training.py, ...) sit beside it in both
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
for _root in (HERE, HERE.parent):
    if (_root / "dcgan" / "__init__.py").is_file():
        sys.path.insert(0, str(_root))
        break

# a build with --fashion-mnist bundles it (MIT licence) beside this file for the Train tab
if (HERE / "data" / "fashion-mnist").is_dir():
    os.environ.setdefault("DCGAN_FASHION_MNIST_DIR", str(HERE / "data" / "fashion-mnist"))

import gradio as gr  # noqa: E402
import torch  # noqa: E402
from checks import MAX_SAMPLES, MAX_SEED, MAX_STEPS, MIN_SECONDS, POOL_SIZES  # noqa: E402
from events import (  # noqa: E402
    SWEEP_EVERY_S,
    YOURS,
    arithmetic,
    candidates,
    end_session,
    frame,
    interpolate,
    leaky_relu,
    sample,
    shapes,
    show_model,
    show_teaching,
    sweep_tick,
)
from lang import T, finish, font_css, speaks  # noqa: E402
from training import SPARE, stop_training, train  # noqa: E402
from uploads import upload_images  # noqa: E402
from zerogpu import TRAIN_SECONDS, ZERO_GPU, cpu_quota  # noqa: E402

from dcgan import live, pretrained, upload  # noqa: E402

# Sampling requests that run at once, ALL sampling events together (one concurrency_id): a
# limit per event would let each of the six run that many. One per CPU of the quota.
CONCURRENCY = int(os.environ.get("DCGAN_SPACE_CONCURRENCY", "0")) or min(2, cpu_quota())
QUEUE_SIZE = 32  # waiting requests beyond this are turned away rather than left to time out
# Training, one run at a time on a CPU Space: its process takes the core the sampling requests
# do not use; a second run would halve both. On ZeroGPU each run is its own GPU call, and
# ZeroGPU queues those itself.
TRAIN_CONCURRENCY = 2 if ZERO_GPU else 1
# an upload decodes in the server's process, on the cores sampling uses: one at a time
UPLOAD_CONCURRENCY = 1
# Gradio's cached outputs (every image sent is a file, about a megabyte a second for a busy
# class): every 10 minutes, those older than 30 minutes go
DELETE_CACHE = (600, 1800)
# samples travel at their own size (small, quick) and the browser scales them up, sharply
CSS = (
    ".pixelated img { image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }"
)


def pixels(label: str, height: int, **kw) -> gr.Image:
    """An image of G's output: PNG (lossless) and drawn with crisp pixels when enlarged."""
    return gr.Image(label=label, format="png", height=height, elem_classes="pixelated", **kw)


NAMES = list(pretrained.available())
# the shipped generators by their names; the visitor's own by a label in their language
CHOICES = [(n, n) for n in NAMES] + [(T("yours (Train tab)"), YOURS)]
DEFAULT = pretrained.default_name()
if DEFAULT:
    pretrained.load(DEFAULT)  # load once at start-up, not on the first visitor's request

TRAIN_INTRO = T(
    "Train a small DCGAN here, now. The grid shows what the generator draws from the same 64 "
    "noise vectors as it learns, and the chart shows the two networks' losses pulling against "
    "each other. The run stops after the seconds you pick (at most {seconds}).",
    seconds=TRAIN_SECONDS,
)
TRAIN_WAIT = (
    T(
        "Each run is one call on a ZeroGPU GPU: it asks for your seconds plus 35 s of your "
        "daily GPU quota; sampling in the other tabs costs none."
    )
    if ZERO_GPU
    else T("One run trains at a time, so you may wait in a queue that shows your place.")
)
UPLOAD_HELP = T(
    "Or train on **your own images**: a .zip of at least {min} PNG, JPEG, GIF, BMP or WebP "
    "images, up to {mb} MB and {count} images. They stay in your session's folder and are "
    "deleted when you close this page.",
    min=upload.MIN_IMAGES,
    mb=upload.UPLOAD_MAX_BYTES // 1_000_000,
    count=upload.UPLOAD_LIMITS.max_members,
)

with gr.Blocks(title="DCGAN Playground", delete_cache=DELETE_CACHE) as demo:
    gr.Markdown("# DCGAN Playground")
    gr.Markdown(
        T(
            "A generator maps a noise vector z to an image. Train one live in the Train tab, "
            "or explore what the shipped generators learned, as in the [d2l.ai DCGAN chapter]"
            "(https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html)."
        )
    )
    with gr.Row():
        model = gr.Dropdown(CHOICES, value=DEFAULT, label=T("Generator"), scale=1)
        info = gr.Markdown()
    with gr.Tabs():
        with gr.Tab(T("Train")):
            gr.Markdown(TRAIN_INTRO)
            gr.Markdown(TRAIN_WAIT)
            with gr.Row():
                dataset = gr.Radio(
                    [(T(label), name) for name, label in live.sources(upload=True).items()],
                    value="shapes",
                    label=T("Dataset"),
                )
                seconds = gr.Slider(
                    MIN_SECONDS, TRAIN_SECONDS, TRAIN_SECONDS, step=5, label=T("Seconds")
                )
                train_btn = gr.Button(T("Train"), variant="primary", scale=0, min_width=120)
                stop_btn = gr.Button(T("Stop"), variant="stop", scale=0, min_width=120)
            with gr.Row():
                upload_box = gr.File(
                    file_types=[".zip"], label=T("Your images (.zip)"), height=120, scale=1
                )
                upload_md = gr.Markdown(UPLOAD_HELP)
            train_md = gr.Markdown(T("Press **Train**: the grid below starts as noise."))
            with gr.Row():
                live_grid = pixels(
                    T("What G draws from 64 fixed noise vectors"), 420, elem_id="live-grid"
                )
                loss_plot = gr.LinePlot(
                    x="step",
                    y="loss",
                    color="network",
                    x_title=T("step"),
                    y_title=T("loss"),
                    color_title=T("network"),
                    label=T("Losses"),
                    height=420,
                )
            download = gr.DownloadButton(
                T("Download your generator (.safetensors)"), visible=False, elem_id="download"
            )
        with gr.Tab(T("Samples")):
            with gr.Row():
                seed = gr.Number(0, label=T("Seed"), precision=0, minimum=0, maximum=MAX_SEED)
                count = gr.Slider(1, MAX_SAMPLES, 16, step=1, label=T("Number of samples"))
                sample_btn = gr.Button(T("Sample"), variant="primary", scale=0, min_width=140)
            grid = pixels(T("Samples"), 420)
        with gr.Tab(T("Interpolation")):
            with gr.Row():
                seed_a = gr.Number(1, label=T("Seed A"), precision=0, minimum=0, maximum=MAX_SEED)
                seed_b = gr.Number(2, label=T("Seed B"), precision=0, minimum=0, maximum=MAX_SEED)
                mode = gr.Radio(["lerp", "slerp"], value="slerp", label=T("Path"))
                steps = gr.Slider(2, MAX_STEPS, 9, step=1, label=T("Images in the strip"))
                interp_btn = gr.Button(T("Interpolate"), variant="primary", scale=0, min_width=140)
            strip = pixels(T("A → B"), 140, elem_id="strip")
            with gr.Row():
                with gr.Column(scale=1):
                    t = gr.Slider(0, 1, 0.5, step=0.01, label=T("t (0 = A, 1 = B)"))
                    single = pixels(T("Image at t"), 220)
                norm_plot = gr.Plot(label=T("‖z‖ along the path"))
            gr.Markdown(
                T(
                    "Gaussian samples in many dimensions sit near a sphere of radius √nz, where G "
                    "was trained. lerp cuts inside it (its middle images can look washed out); "
                    "slerp stays on it."
                )
            )
        with gr.Tab(T("Vector arithmetic")):
            gr.Markdown(
                T(
                    "The DCGAN paper's trick: average a few samples that share a feature, then "
                    "compute **mean(A) − mean(B) + mean(C)**. Type sample numbers from the grid."
                )
            )
            with gr.Row():
                pool_seed = gr.Number(0, label=T("Grid seed"), precision=0, minimum=0)
                pool = gr.Radio(list(POOL_SIZES), value="24", label=T("Grid size"))
                pool_btn = gr.Button(T("New grid"), scale=0, min_width=140)
            pool_img = pixels(T("Candidates"), 360)
            with gr.Row():
                group_a = gr.Textbox("0, 1, 2", label=T("Group A"))
                group_b = gr.Textbox("3, 4, 5", label=T("Group B"))
                group_c = gr.Textbox("6, 7, 8", label=T("Group C"))
            with gr.Row():
                ca = gr.Slider(-2, 2, 1, step=0.1, label=T("coefficient of A"))
                cb = gr.Slider(-2, 2, -1, step=0.1, label=T("coefficient of B"))
                cc = gr.Slider(-2, 2, 1, step=0.1, label=T("coefficient of C"))
                noise = gr.Slider(0, 1, 0.25, step=0.05, label=T("noise around the result"))
            arith_btn = gr.Button(T("Compute"), variant="primary")
            with gr.Row():
                means_img = pixels(T("mean(A), mean(B), mean(C), result"), 200)
                around_img = pixels(T("9 results with noise"), 200)
        with gr.Tab(T("LeakyReLU")):
            with gr.Row():
                alpha = gr.Slider(0, 1, 0.2, step=0.05, label=T("alpha (D's slope for x < 0)"))
                derivative = gr.Checkbox(False, label=T("Show the derivative"))
            relu_plot = gr.Plot()
            gr.Markdown(
                T(
                    "With alpha = 0 (plain ReLU) a negative input passes no gradient back, so D "
                    "cannot tell G how to improve there: the chapter's exercise 1."
                )
            )
        with gr.Tab(T("Shape calculator")):
            with gr.Row():
                layer = gr.Radio(
                    ["Conv2d", "ConvTranspose2d"], value="ConvTranspose2d", label=T("Layer")
                )
                size_n = gr.Number(
                    16, label=T("Input size n"), precision=0, minimum=1, maximum=1024
                )
                size_k = gr.Number(4, label=T("Kernel k"), precision=0, minimum=1, maximum=64)
                size_s = gr.Number(2, label=T("Stride s"), precision=0, minimum=1, maximum=64)
                size_p = gr.Number(1, label=T("Padding p"), precision=0, minimum=0, maximum=64)
                size_op = gr.Number(0, label=T("Output padding"), precision=0, minimum=0)
                size_d = gr.Number(1, label=T("Dilation d"), precision=0, minimum=1, maximum=16)
            shape_md = gr.Markdown()
            scatter_plot = gr.Plot(
                label=T("Where each input pixel's kernel lands (up to 8×8 inputs)")
            )
            gr.Markdown(T("### The picked generator, layer by layer (batch of one)"))
            layer_table = gr.Dataframe(
                headers=[T("layer"), T("op"), T("output shape"), T("parameters")], interactive=False
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

    # every event that runs a generator shares one queue slot pool (concurrency_id "sample")
    gen = dict(concurrency_id="sample", concurrency_limit=CONCURRENCY, **on)
    gr.on(
        [demo.load, model.change], speaks(show_model), model_in, model_out, api_name="model", **gen
    )
    demo.load(speaks(show_teaching), teach_in, teach_out, api_visibility="private", **on)
    gr.on(sample_when, speaks(sample), [model, seed, count], grid, api_name="sample", **gen)
    gr.on(interp_when, speaks(interpolate), interp_in, [strip, norm_plot], api_name="interp", **gen)
    gr.on(frame_when, speaks(frame), frame_in, single, api_name="frame", **last, **gen)
    gr.on(pool_when, speaks(candidates), [model, pool_seed, pool], pool_img, api_name="pool", **gen)
    arith_btn.click(
        speaks(arithmetic), arith_in, [means_img, around_img], api_name="arithmetic", **gen
    )
    gr.on(relu_when, speaks(leaky_relu), [alpha, derivative], relu_plot, api_name="relu", **on)
    # training: its own queue (concurrency_id), so sampling events never wait behind a run;
    # the progress (and the queue position) shows on the status line, not over the grid
    train_btn.click(
        speaks(train),
        [dataset, seconds],
        [train_md, live_grid, loss_plot, download, model],
        api_name="train",
        concurrency_id="train",
        concurrency_limit=TRAIN_CONCURRENCY,
        show_progress="full",
        show_progress_on=[train_md],
        **on,
    )
    upload_box.upload(
        speaks(upload_images),
        upload_box,
        [upload_md, dataset, upload_box],
        api_name="upload",
        concurrency_id="upload",
        concurrency_limit=UPLOAD_CONCURRENCY,
        **on,
    )
    # Stop must answer while the run's event holds the training queue: no queue limit of its own
    stop_btn.click(speaks(stop_training), None, None, api_name="stop", concurrency_limit=None)
    demo.unload(end_session)
    # the sweep of abandoned folders: on a timer, not only when someone presses Train (each
    # open page ticks it; sweep_tick runs it at most once per SWEEP_EVERY_S)
    sweeper = gr.Timer(SWEEP_EVERY_S / 10)
    sweeper.tick(
        sweep_tick, None, None, api_visibility="private", show_progress="hidden", queue=False
    )
    gr.on(shape_when, speaks(shapes), shape_in, [shape_md, scatter_plot], api_name="shapes", **on)

demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
# everything a browser needs to show the layout in its language; launch() takes it
LAUNCH = dict(i18n=finish(), css=CSS + font_css(), max_file_size=upload.UPLOAD_MAX_BYTES)
if SPARE:
    live.warm()

if __name__ == "__main__":
    # the queue runs CONCURRENCY requests at once; give each its share of the CPU quota
    torch.set_num_threads(max(1, cpu_quota() // CONCURRENCY))
    # Gradio's upload route refuses a bigger file before it is written (max_file_size);
    # dcgan.upload checks again
    demo.launch(**LAUNCH)

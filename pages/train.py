"""Train: one training job per runs folder, watched live; charts, samples, health, checkpoints.

Longer than the house's 400 lines on purpose: it is the page a class watches, and its sections
(settings, controls, live view, timeline, checkpoints) appear here in the order they are on screen.

The job is its own process (dcgan.runs.job); this page only reads its run folder, through one
shared reader per run (ui.jobs.SharedRun), and sends it commands. A job started from the CLI
under checkpoints/runs shows here the same way, and a server restart finds it again.
"""

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from dcgan import checkpoint as ckpt
from dcgan import pretrained, runs
from dcgan.config import PRESETS, Config, ConfigError, preset
from dcgan.data import FASHION_CLASSES, NAMED_SOURCES, DataError, source_label
from dcgan.images import gif_bytes, grid_array, png_array, upscale
from dcgan.latent import generate, sample_z
from dcgan.runs import JobBusyError
from dcgan.runs.loop import PARTS
from ui import jobs, nav, uploads
from ui.generators import GeneratorChoice, Kind

nav.page_setup()

ss = st.session_state
KEEP = "session"  # settings survive a visit to another page
# the grids are small PNGs the job wrote once; the browser scales them up without blurring
st.html("<style>img {image-rendering: pixelated;}</style>")


def values_from(cfg: Config) -> dict:
    """Widget values for a config."""
    t, m = cfg.train, cfg.model
    return {
        "tr_lr": float(t.lr),
        "tr_beta1": float(t.beta1),
        "tr_batch": int(t.batch_size),
        "tr_unit": "steps" if t.steps else "epochs",
        "tr_len": int(t.steps or t.epochs),
        "tr_nz": int(m.nz),
        "tr_act": m.d_activation,
        "tr_alpha": float(m.leaky_alpha),
        "tr_ema": float(t.ema_decay),
        "tr_aug": bool(t.diffaugment),
    }


def apply_preset() -> None:
    """A new preset resets every setting to that preset's values."""
    ss.update(values_from(preset(ss.tr_preset)))


if "tr_preset" not in ss:
    saved = ss.get("train_cfg")
    cfg0 = Config.from_dict(saved) if saved else preset(jobs.DEFAULT_PRESET)
    ss.tr_preset = cfg0.preset if cfg0.preset in PRESETS else jobs.DEFAULT_PRESET
    ss.tr_source = cfg0.data.source
    ss.update(values_from(cfg0))
if "train_source" in ss:  # "Train on this dataset" on the Data page
    ss.tr_source = ss.pop("train_source")
    ss.tr_classes = list(ss.pop("train_classes", None) or [])

sources = list(NAMED_SOURCES)
if ss.tr_source not in sources:
    sources.append(ss.tr_source)

# ------------------------------------------------------------------ settings (sidebar)

with st.sidebar:
    st.header("Settings")
    st.selectbox(
        "Preset",
        list(PRESETS),
        key="tr_preset",
        on_change=apply_preset,
        persist_state=KEEP,
        help="classroom-cpu: small and fast on a laptop CPU. d2l: the chapter exactly. "
        "paper: Radford et al.'s learning rate and init.",
    )
    st.selectbox(
        "Dataset",
        sources,
        format_func=lambda s: source_label(s, picker=True),
        key="tr_source",
        persist_state=KEEP,
    )
    if ss.tr_source == "fashion-mnist":
        st.multiselect(
            "Classes (empty keeps all)",
            list(range(10)),
            format_func=lambda i: FASHION_CLASSES[i],
            key="tr_classes",
            persist_state=KEEP,
        )
    st.number_input(
        "Learning rate",
        min_value=1e-6,
        max_value=1.0,
        step=1e-4,
        format="%.5f",
        key="tr_lr",
        persist_state=KEEP,
    )
    st.slider("β1 (Adam momentum)", 0.0, 0.99, step=0.01, key="tr_beta1", persist_state=KEEP)
    st.number_input("Batch size", 1, 4096, step=16, key="tr_batch", persist_state=KEEP)
    c1, c2 = st.columns(2)
    c1.radio("Run for", ("epochs", "steps"), key="tr_unit", persist_state=KEEP)
    c2.number_input(f"Number of {ss.tr_unit}", 1, 1_000_000, key="tr_len", persist_state=KEEP)
    st.number_input("Latent size nz", 1, 1024, key="tr_nz", persist_state=KEEP)
    st.radio(
        "D's activation",
        ("leaky_relu", "relu"),
        format_func={"leaky_relu": "LeakyReLU", "relu": "ReLU (exercise 1)"}.get,
        key="tr_act",
        horizontal=True,
        persist_state=KEEP,
    )
    st.slider(
        "α (LeakyReLU slope)",
        0.0,
        1.0,
        step=0.05,
        key="tr_alpha",
        disabled=ss.tr_act == "relu",
        persist_state=KEEP,
    )
    st.slider(
        "EMA decay of G's weights (0 = off)",
        0.0,
        0.999,
        step=0.001,
        format="%.3f",
        key="tr_ema",
        persist_state=KEEP,
        help="Why: samples come from an average of G's recent weights (Yazıcı et al. 2019), "
        "which smooths away step-to-step noise. 0 = off, as in the chapter.",
    )
    st.toggle(
        "DiffAugment (colour, translation, cutout)",
        key="tr_aug",
        persist_state=KEEP,
        help="Why: random colour, shift and cutout on every image D sees, real and fake "
        "(Zhao et al. 2020), stop D memorising a small dataset like Pokemon; it slows learning "
        "on large ones.",
    )


def build_config() -> Config:
    """The preset with the sidebar's overrides; validate() names any bad field."""
    fashion = ss.tr_source == "fashion-mnist"
    over = {
        "data.source": ss.tr_source,
        "data.classes": (tuple(ss.get("tr_classes") or []) or None) if fashion else None,
        "train.lr": float(ss.tr_lr),
        "train.beta1": float(ss.tr_beta1),
        "train.batch_size": int(ss.tr_batch),
        "train.steps": int(ss.tr_len) if ss.tr_unit == "steps" else None,
        "model.nz": int(ss.tr_nz),
        "model.d_activation": ss.tr_act,
        "model.leaky_alpha": float(ss.tr_alpha),
        "train.ema_decay": float(ss.tr_ema),
        "train.diffaugment": "color,translation,cutout" if ss.tr_aug else "",
    }
    if ss.tr_unit == "epochs":
        over["train.epochs"] = int(ss.tr_len)
    return Config.with_overrides(ss.tr_preset, over)


def start(cfg_fn, resume: Path | None = None) -> None:
    """Start a job from the settings or a checkpoint, with a clear message either way."""
    try:
        cfg = cfg_fn()
        uploads.check_source(cfg.data.source)  # a checkpoint names its own data path
        h = jobs.start(cfg, resume=resume)
    except (ConfigError, DataError, ckpt.CheckpointError) as e:
        st.error(f"Not started: {e}")
    except JobBusyError as e:
        st.warning(f"Start refused: {e} Everyone shares this server's one job.")
    else:
        ss.train_cfg = cfg.to_dict()
        st.success(f"Started {h.dir.name}: {jobs.job_summary(cfg.to_dict())}.")


# ------------------------------------------------------------------ controls

st.title("Train")
st.caption(
    "One training job at a time: everyone who opens this page watches the same run. It "
    "trains in its own process, so closing the tab, reloading or restarting the server never "
    "stops it. A run started with `python -m dcgan.train --out checkpoints/runs/NAME` shows "
    "here too."
)
b = st.columns([1, 1, 1, 1, 4])
pressed_start = b[0].button("Start", type="primary", width="stretch")
pause = b[1].button("Pause", width="stretch")
resume = b[2].button("Resume", width="stretch")
stop = b[3].button("Stop", width="stretch")

if pressed_start:
    start(build_config)
job = jobs.current_job()
live = job is not None and job.alive
jobs.warm()  # a spare job process waits while nothing trains: Start's first step comes fast
for pressed, verb in ((pause, "pause"), (resume, "resume"), (stop, "stop")):
    if pressed:
        if live:
            getattr(job, verb)()
            if verb == "stop":
                st.info("Stopping after the current step; a final checkpoint is written.")
        else:
            st.info(f"There is no running job to {verb}.")

with st.expander("Step by step, slow motion, and changing lr or β1 mid-run (GAN Lab style)"):
    st.caption(
        "What to look for: one D step pushes D(x) up and D(G(z)) down; one G step pulls "
        "D(G(z)) back up. A changed learning rate is marked on the charts by a dashed line."
    )
    c = st.columns(4)
    for col, (part, label) in zip(
        c[:3],
        zip(PARTS, ("One step (D then G)", "One D step", "One G step"), strict=True),
        strict=False,
    ):
        if col.button(label, key=f"step_{part}", disabled=not live, width="stretch"):
            job.step(1, part)
    delay = c[3].slider("Slow motion (s per step)", 0.0, 2.0, 0.0, 0.1, key="tr_delay")
    c = st.columns([1, 1, 1])
    new_lr = c[0].number_input("lr", 1e-6, 1.0, float(ss.tr_lr), format="%.5f", key="tr_new_lr")
    new_b1 = c[1].number_input("β1", 0.0, 0.99, float(ss.tr_beta1), key="tr_new_b1")
    if c[2].button("Apply to the running job", disabled=not live):
        job.set(lr=float(new_lr), beta1=float(new_b1), delay=float(delay))
        st.success(f"From the next step: lr {new_lr:g}, β1 {new_b1:g}, {delay:g} s per step.")


# ------------------------------------------------------------------ live view


def current_run():
    """The live (or newest) run and its shared reader, refreshed at most every REFRESH_S."""
    job = jobs.current_job()
    if job is None:
        return None, None, {}
    run = jobs.shared_run(str(job.dir))
    return job, run, run.refresh()


def grid_pace(train: dict) -> str:
    """'every 50 steps, at most one per 2 s' (or 'one every 1 s') for a run's train config."""
    every, pace = train.get("sample_every", 0), train.get("sample_min_s") or 0
    if every == 1 and pace:
        return f"one every {pace:g} s"
    return f"every {every} steps" + (f", at most one per {pace:g} s" if pace else "")


@st.fragment(run_every=1)
def live_view() -> None:
    """Status, the live sample grid and health hints, redrawn every second: a new step shows
    within about a second, for the cost of a few small elements per viewer."""
    job, run, s = current_run()
    if job is None:
        st.info(
            "No training job yet. The settings on the left default to the classroom-cpu "
            "preset on the built-in shapes: press Start and recognisable shapes appear on a "
            "laptop CPU within about a minute."
        )
        return
    config = run.reader.config() or {}
    c = st.columns(4)  # every element is a message per viewer per second: four, not five
    c[0].metric("Status", s.get("status", "?"))
    total = s.get("total_steps") or 0
    short = f"{total / 1000:,.0f}k" if total >= 10_000 else f"{total:,}"  # fits a quarter width
    c[1].metric(
        "Step", f"{s.get('step', 0):,} / {short}" if total else "…", help=f"of {total:,} steps"
    )
    c[2].metric("Examples/sec", f"{s.get('examples_per_sec', 0):,.0f}")
    elapsed = (s.get("updated_at") or time.time()) - (s.get("started_at") or time.time())
    where = " · ".join(x for x in (s.get("device"), s.get("precision")) if x) or "…"
    c[3].metric("Device · precision", where, help=f"running for {elapsed:.0f} s")
    if s.get("status") == "loading":
        st.progress(s.get("load_progress", 0.0), text=f"Loading {config['data']['source']}…")
    elif total:
        st.progress(
            min(1.0, s.get("step", 0) / total), text=f"{job.dir.name}: " + jobs.job_summary(config)
        )
    if s.get("error"):
        st.error(f"The job failed: {s['error']}")

    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Samples from the fixed noise**")
        if run.grid is not None:
            ema = config.get("train", {}).get("ema_decay", 0)
            both = bool(ema) and run.grid_raw is not None
            both = both and st.toggle(
                "Raw G beside the average",
                key="tr_raw",
                help="The raw generator jumps with every step; the average (EMA) is where "
                "training is heading. The difference is the point of the EMA.",
            )
            where = st.columns(2) if both else [st.container()]
            where[0].image(
                run.grid[1],
                width="stretch",
                alt="live sample grid",
                output_format="PNG",  # "auto" re-encodes a PNG as JPEG on every rerun
                caption=f"step {run.grid[0]:,}"
                + (" (weight average, EMA)" if ema else "")
                + f", {grid_pace(config.get('train', {}))}",
            )
            if both:
                where[1].image(
                    run.grid_raw,
                    width="stretch",
                    alt="raw generator grid",
                    output_format="PNG",
                    caption="the raw G, same noise",
                )
        else:
            st.caption("The first grid appears after the first step.")
    with right:
        st.markdown("**Health**")
        tile = int(config.get("model", {}).get("image_size", 64))
        for h in run.hints(config, tile):
            box = {"ok": st.success, "warning": st.warning}.get(h.level, st.info)
            box(f"**{h.title}.** {h.message}  \n_{h.evidence}_")


live_view()


@st.fragment(run_every=jobs.CHARTS_EVERY_S)
def live_charts() -> None:
    """The four charts, every three seconds: they are most of a rerun's bytes and CPU, and a
    curve that moves every few seconds still reads as live (the step shows every second)."""
    job, run, s = current_run()
    if job is None:
        return
    smoothing = st.slider(
        "Smoothing", 0.0, 0.99, 0.6, step=0.01, key="tr_smooth", persist_state=KEEP
    )
    if run.reader.rows_read == 0:
        st.caption("Charts appear once the first metrics arrive.")
        return
    figs = run.figures(smoothing, f"{s.get('device', '')} ({s.get('precision', '')})")
    keys = ("ch_loss", "ch_d", "ch_grad", "ch_eps")
    for i in (0, 2):
        cols = st.columns(2)
        for col, fig, key in zip(cols, figs[i : i + 2], keys[i : i + 2], strict=True):
            col.plotly_chart(fig, key=key)


live_charts()


# ------------------------------------------------------------------ timeline


@st.fragment(run_every=10)
def timeline_view() -> None:
    """Scrub back through the recorded grids; download them as an animated GIF. Every ten
    seconds: the live grid above shows each new frame, and each rerun costs every viewer."""
    st.subheader("Timeline")
    job = jobs.current_job()
    frames = runs.timeline(job.dir) if job is not None else []
    if len(frames) < 2:
        st.caption("The timeline fills as training records sample grids.")
        return
    steps = [s for s, _ in frames]
    if ss.get("tr_frame") not in steps or ss.tr_frame == ss.get("tr_frame_last"):
        ss.tr_frame = steps[-1]  # new, thinned away, or following the newest frame
    ss.tr_frame_last = steps[-1]
    step = st.select_slider("Step", options=steps, key="tr_frame")
    paths = dict(frames)
    left, right = st.columns([2, 3])
    try:
        left.image(
            paths[step].read_bytes(), width="stretch", output_format="PNG", caption=f"step {step:,}"
        )
    except OSError:
        left.caption("That frame was just thinned away; pick another.")
    keep = frames[-100:]
    right.markdown(
        f"{len(frames)} frames from step {steps[0]:,} to {steps[-1]:,}. The GIF plays the "
        f"last {len(keep)} of them, oldest first."
    )
    right.download_button(
        "Download the timeline as a GIF",
        data=lambda: gif_bytes([png_array(p.read_bytes()) for _, p in keep if p.exists()], 150),
        file_name="dcgan-timeline.gif",
        mime="image/gif",
        on_click="ignore",
        icon=":material/movie:",
    )


timeline_view()


# ------------------------------------------------------------------ checkpoints

st.subheader("Checkpoints")
t_save, t_up, t_ship = st.tabs(["Save and download", "Upload", "Shipped generators"])

with t_save:
    job = jobs.current_job()
    if st.button("Save a checkpoint now"):
        s = job.status() if job is not None else {}
        if job is None:
            st.info("There is no training job to save yet.")
        elif s.get("status") == "failed":
            kept = s.get("checkpoint_path")
            st.warning(
                "The job failed, so its current weights may be broken and are not saved. "
                + (f"The last good checkpoint is {kept}." if kept else "No checkpoint was kept.")
            )
        elif job.alive:
            job.save()
            st.success(
                "Asked the job for a full, resumable checkpoint (step-N.pt in its folder); it "
                "appears in the list below within a step."
            )
        else:
            st.info(
                f"The job has ended; its final checkpoint is {job.dir / runs.LAST}, in the "
                "list below."
            )
    files = jobs.saved_checkpoints(10)
    if not files:
        st.caption(f"No checkpoints in {jobs.runs_dir()} yet.")
    for i, p in enumerate(files):
        c = st.columns([4, 1, 1, 1])
        try:
            shown = p.relative_to(jobs.runs_dir())
            mtime = p.stat().st_mtime
            size = p.stat().st_size
        except (ValueError, OSError):
            continue
        c[0].markdown(
            f"`{shown}`  \n{size / 1e6:.1f} MB, {time.strftime('%H:%M:%S', time.localtime(mtime))}"
        )
        c[1].download_button(
            "Download",
            data=lambda p=p: p.read_bytes(),
            file_name=p.name,
            on_click="ignore",
            key=f"dl_{i}",
        )
        if c[2].button("Latent page", key=f"use_{i}", help="Explore this generator"):
            ss.active_generator = GeneratorChoice(Kind.FILE, str(p))
            st.switch_page("pages/latent.py")
        if p.suffix == ".pt" and c[3].button("Resume", key=f"res_{i}", help="Continue training"):
            start(lambda p=p: Config.from_dict(ckpt.load(p)["config"]), resume=p)

with t_up:
    up = st.file_uploader(
        "A checkpoint (.pt) or a generator export (.safetensors) written by this app",
        type=["pt", "safetensors"],
        key="ckpt_upload",
    )
    if up is not None:
        path = uploads.save_upload(up.name, up.getvalue())
        try:
            G, model, meta = ckpt.load_generator(path)  # torch.load(weights_only=True) inside
            state = ckpt.load(path) if path.suffix == ".pt" else None
        except ckpt.CheckpointError as e:
            st.error(f"That file was refused: {e}")
        else:
            uploaded = ss.setdefault("uploaded_generators", [])
            if str(path) not in uploaded:
                uploaded.append(str(path))
            st.success(
                f"{up.name}: a {model.image_size}×{model.image_size} generator, nz={model.nz}, "
                f"ngf={model.ngf}, step {meta.get('step', '?')}."
            )
            st.image(
                upscale(grid_array(generate(G, sample_z(16, model.nz, 0)), nrow=8), 400),
                caption="16 samples, seed 0",
            )
            c1, c2 = st.columns(2)
            if c1.button("Explore it on the Latent space page"):
                ss.active_generator = GeneratorChoice(Kind.FILE, str(path))
                st.switch_page("pages/latent.py")
            if state is not None and c2.button("Resume training from it"):
                start(lambda: Config.from_dict(state["config"]), resume=path)

with t_ship:
    shipped = pretrained.available()
    if not shipped:
        st.info(
            "No shipped generators in checkpoints/ yet. Until they arrive, the Latent space "
            "page can use the training job's weights or any saved run."
        )
    else:
        name = st.selectbox(
            "Shipped generator", list(shipped), index=list(shipped).index(pretrained.default_name())
        )
        choice = GeneratorChoice(Kind.SHIPPED, name)
        if st.button("Load it", type="primary"):
            ss.active_generator = choice
        if ss.get("active_generator") == choice:
            G, model, meta = pretrained.load(name)
            c1, c2 = st.columns([2, 3])
            c1.image(
                upscale(grid_array(generate(G, sample_z(64, model.nz, 0)), nrow=8)),
                caption=f"{name}: 64 samples, seed 0",
            )
            c2.dataframe(
                pd.DataFrame({"field": list(meta), "value": [str(v) for v in meta.values()]}),
                hide_index=True,
            )
            c2.page_link(
                "pages/latent.py",
                label="Explore it on the Latent space page",
                icon=":material/explore:",
            )

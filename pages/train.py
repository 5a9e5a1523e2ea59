"""Train: one shared training job per server, polled live; charts, samples, health, checkpoints.

The job runs in the engine's background thread (dcgan.train.JobSlot). This page only reads
its immutable snapshot, once a second inside st.fragment(run_every=1); the worker never
calls Streamlit. Every browser session sees the same job, so a class can watch one run.
"""

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from dcgan import checkpoint as ckpt
from dcgan import health, plots, pretrained
from dcgan.config import PRESETS, Config, ConfigError, preset
from dcgan.data import FASHION_CLASSES, DataError
from dcgan.images import gif_bytes, grid_array
from dcgan.latent import generate, sample_z
from dcgan.train import JobBusy
from pages import common

common.page_setup()

ss = st.session_state
slot = common.job_slot()
KEEP = "session"  # settings survive a visit to another page


def upscale(grid, target: int = 480):
    """Nearest-neighbour upscale so small grids stay crisp on a projector."""
    k = max(1, target // grid.shape[1])
    return grid.repeat(k, 0).repeat(k, 1)


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
    }


def apply_preset() -> None:
    """A new preset resets every setting to that preset's values."""
    ss.update(values_from(preset(ss.tr_preset)))


if "tr_preset" not in ss:
    saved = ss.get("train_cfg")
    cfg0 = Config.from_dict(saved) if saved else preset(common.DEFAULT_PRESET)
    ss.tr_preset = cfg0.preset if cfg0.preset in PRESETS else common.DEFAULT_PRESET
    ss.tr_source = cfg0.data.source
    ss.update(values_from(cfg0))
if "train_source" in ss:  # "Train on this dataset" on the Data page
    ss.tr_source = ss.pop("train_source")
    ss.tr_classes = list(ss.pop("train_classes", None) or [])

sources = list(common.NAMED_SOURCES)
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
        help="classroom-cpu: 32×32, narrow nets, fast on a laptop CPU. d2l: the chapter "
        "exactly. paper: Radford et al.'s learning rate and init.",
    )
    st.selectbox(
        "Dataset",
        sources,
        format_func=lambda s: common.SOURCE_LABELS.get(s, Path(s).name),
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


def build_config() -> Config:
    """The preset with the sidebar's overrides; validate() names any bad field."""
    over = {
        "data.source": ss.tr_source,
        "data.classes": tuple(ss.get("tr_classes") or []) or None
        if ss.tr_source == "fashion-mnist"
        else None,
        "train.lr": float(ss.tr_lr),
        "train.beta1": float(ss.tr_beta1),
        "train.batch_size": int(ss.tr_batch),
        "train.steps": int(ss.tr_len) if ss.tr_unit == "steps" else None,
        "model.nz": int(ss.tr_nz),
        "model.d_activation": ss.tr_act,
        "model.leaky_alpha": float(ss.tr_alpha),
    }
    if ss.tr_unit == "epochs":
        over["train.epochs"] = int(ss.tr_len)
    return preset(ss.tr_preset).replace(**over).validate()


# ------------------------------------------------------------------ controls

st.title("Train")
st.caption(
    "One training job per server: everyone who opens this page watches the same run. "
    "Closing the tab does not stop it; reloading reattaches."
)
b = st.columns([1, 1, 1, 1, 4])
start = b[0].button("Start", type="primary", width="stretch")
pause = b[1].button("Pause", width="stretch")
resume = b[2].button("Resume", width="stretch")
stop = b[3].button("Stop", width="stretch")

job = slot.current()
if start:
    try:
        cfg = build_config()
    except ConfigError as e:
        st.error(f"Not started: {e}")
    else:
        ss.train_cfg = cfg.to_dict()
        try:
            job = slot.start(cfg, out_dir=common.new_run_dir(cfg))
        except JobBusy as e:
            st.warning(f"Start refused: {e} Every visitor shares this server's one job.")
        else:
            st.success(f"Started: {common.job_summary(job.snapshot())}.")
for pressed, verb in ((pause, "pause"), (resume, "resume")):
    if pressed:
        if job is not None and job.alive:
            getattr(job, verb)()
        else:
            st.info(f"There is no running job to {verb}.")
if stop:
    if job is not None and job.alive:
        job.stop()
        st.info("Stopping after the current step; a final checkpoint is written.")
    else:
        st.info("There is no running job to stop.")


# ------------------------------------------------------------------ live view


@st.cache_data(max_entries=4096, show_spinner=False)
def frame_diversity(job_key: float, step: int, _grid, tile: int) -> float:
    """Diversity of one timeline grid; frames never change, so each is computed once."""
    return health.diversity(health.grid_tiles(_grid, tile))


@st.cache_resource(max_entries=64, show_spinner=False)
def live_figures(_snap, job_key: float, n: int, smoothing: float) -> tuple:
    """The four live charts for one published history prefix, built once for every session.

    Building plotly figures is the costly part of a redraw (about 40 ms each on a busy
    2-core CPU); a class of browsers polling once a second would otherwise starve training."""
    steps = _snap.history("step")
    h = _snap.history
    return (
        plots.loss_figure(steps, h("loss_D"), h("loss_G"), smoothing),
        plots.d_outputs_figure(steps, h("D_x"), h("D_G_z1"), smoothing),
        plots.grad_norm_figure(steps, h("grad_norm_G"), h("grad_norm_D"), smoothing),
        plots.throughput_figure(
            steps, h("examples_per_sec"), f"{_snap.device} ({_snap.precision})"
        ),
    )


@st.fragment(run_every=1)
def live_view() -> None:
    """Status, charts, the live sample grid and health hints, redrawn every second."""
    job = slot.current()
    if job is None:
        st.info(
            "No training job yet. The settings on the left default to the classroom-cpu "
            "preset on the built-in shapes: press Start and recognisable shapes appear on a "
            "laptop CPU within about a minute."
        )
        return
    snap = job.snapshot()
    c = st.columns(5)
    c[0].metric("Status", snap.status)
    c[1].metric("Step", f"{snap.step:,} / {snap.total_steps:,}" if snap.total_steps else "…")
    c[2].metric("Examples/sec", f"{snap.examples_per_sec:,.0f}")
    c[3].metric("Device", snap.device or common.device_info()["device"])
    elapsed = time.time() - snap.started_at if snap.started_at else 0
    c[4].metric("Precision", snap.precision or "…", help=f"running for {elapsed:.0f} s")
    if snap.status == "loading":
        st.progress(snap.load_progress, text=f"Loading {job.cfg.data.source}…")
    elif snap.total_steps:
        st.progress(min(1.0, snap.step / snap.total_steps), text=common.job_summary(snap))
    if snap.error:
        st.error(f"The job failed: {snap.error}")

    steps = snap.history("step")
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Samples from the fixed noise**")
        if snap.latest_grid is not None:
            st.image(
                upscale(snap.latest_grid),
                caption=f"step {snap.timeline[-1][0]:,} (updates every "
                f"{job.cfg.train.sample_every} steps)",
                alt="live sample grid",
            )
        else:
            st.caption("The first grid appears after the first step.")
        st.markdown("**Health**")
        tile = int(snap.config["model"]["image_size"])
        div = (
            [s for s, _ in snap.timeline],
            [frame_diversity(snap.started_at, s, g, tile) for s, g in snap.timeline],
        )
        for h in health.check(snap, diversity=div):
            box = {"ok": st.success, "warning": st.warning}.get(h.level, st.info)
            box(f"**{h.title}.** {h.message}  \n_{h.evidence}_")
        if len(div[0]) >= 2:
            with st.expander("Sample diversity over training"):
                st.plotly_chart(plots.diversity_figure(*div), key="ch_div")
                st.caption("Mode collapse shows as a fall: the samples become alike.")
    with right:
        smoothing = st.slider(
            "Smoothing", 0.0, 0.99, 0.6, step=0.01, key="tr_smooth", persist_state=KEEP
        )
        if not steps:
            st.caption("Charts appear once the first metrics arrive.")
        else:
            figs = live_figures(snap, snap.started_at, len(steps), round(smoothing, 2))
            keys = ("ch_loss", "ch_d", "ch_grad", "ch_eps")
            for i in (0, 2):
                cols = st.columns(2)
                for col, fig, key in zip(cols, figs[i : i + 2], keys[i : i + 2], strict=True):
                    col.plotly_chart(fig, key=key)


live_view()


# ------------------------------------------------------------------ timeline


@st.fragment(run_every=3)
def timeline_view() -> None:
    """Scrub back through the recorded grids; download them as an animated GIF."""
    st.subheader("Timeline")
    job = slot.current()
    frames = job.snapshot().timeline if job is not None else ()
    if len(frames) < 2:
        st.caption("The timeline fills as training records sample grids.")
        return
    steps = [s for s, _ in frames]
    if ss.get("tr_frame") not in steps or ss.tr_frame == ss.get("tr_frame_last"):
        ss.tr_frame = steps[-1]  # new, thinned away, or following the newest frame
    ss.tr_frame_last = steps[-1]
    step = st.select_slider("Step", options=steps, key="tr_frame")
    grids = dict(frames)
    left, right = st.columns([2, 3])
    left.image(upscale(grids[step]), caption=f"step {step:,}", alt="timeline frame")
    keep = [frames[i] for i in plots.downsample_index(len(frames), 100)]
    right.markdown(
        f"{len(frames)} frames from step {steps[0]:,} to {steps[-1]:,}. The GIF plays "
        f"{len(keep)} of them, oldest first."
    )
    right.download_button(
        "Download the timeline as a GIF",
        data=lambda: gif_bytes([g for _, g in keep], ms_per_frame=150),
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
    job = slot.current()
    if st.button("Save a checkpoint now"):
        if job is None or job.out_dir is None:
            st.info("There is no training job to save yet.")
        elif job.snapshot().status == "failed":
            kept = job.snapshot().checkpoint_path
            st.warning(
                "The job failed, so its current weights may be broken and are not saved. "
                + (f"The last good checkpoint is {kept}." if kept else "No checkpoint was kept.")
            )
        elif not job.alive and job.trainer is not None:
            path = ckpt.save(
                job.trainer.state_dict(), job.out_dir / f"step-{job.trainer.step_num}.pt"
            )
            st.success(f"Saved the full, resumable checkpoint {path}.")
        elif job.generator_weights() is not None:
            step, g = job.generator_weights()
            model = Config.from_dict(job.snapshot().config).model
            path = ckpt.export_generator(
                g, model, job.out_dir / f"generator-step-{step}.safetensors", meta={"step": step}
            )
            st.success(
                f"Saved the generator at step {step} to {path}. The job also writes a full, "
                f"resumable checkpoint (last.pt) every {job.cfg.train.checkpoint_every} steps "
                "and when it ends."
            )
        else:
            st.info("The job has no weights yet; wait for the first step.")
    files = common.saved_checkpoints(10)
    if not files:
        st.caption(f"No checkpoints in {common.runs_dir()} yet.")
    for i, p in enumerate(files):
        c = st.columns([4, 1, 1, 1])
        try:
            shown = p.relative_to(common.runs_dir())
        except ValueError:
            shown = p
        c[0].markdown(
            f"`{shown}`  \n{p.stat().st_size / 1e6:.1f} MB, "
            f"{time.strftime('%H:%M:%S', time.localtime(p.stat().st_mtime))}"
        )
        c[1].download_button(
            "Download",
            data=lambda p=p: p.read_bytes(),
            file_name=p.name,
            on_click="ignore",
            key=f"dl_{i}",
        )
        if c[2].button("Latent page", key=f"use_{i}", help="Explore this generator"):
            ss.active_generator = f"file:{p}"
            st.switch_page("pages/latent.py")
        if p.suffix == ".pt" and c[3].button("Resume", key=f"res_{i}", help="Continue training"):
            try:
                cfg = Config.from_dict(ckpt.load(p)["config"])
                common.check_source(cfg.data.source)
                slot.start(cfg, out_dir=common.new_run_dir(cfg), resume=p)
            except (ckpt.CheckpointError, ConfigError, DataError) as e:
                st.error(str(e))
            except JobBusy as e:
                st.warning(f"Resume refused: {e}")
            else:
                st.rerun()

with t_up:
    up = st.file_uploader(
        "A checkpoint (.pt) or a generator export (.safetensors) written by this app",
        type=["pt", "safetensors"],
        key="ckpt_upload",
    )
    if up is not None:
        path = common.save_upload(up.name, up.getvalue())
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
                ss.active_generator = f"file:{path}"
                st.switch_page("pages/latent.py")
            if state is not None and c2.button("Resume training from it"):
                cfg = Config.from_dict(state["config"])
                try:
                    common.check_source(cfg.data.source)  # the file names its own data path
                    slot.start(cfg, out_dir=common.new_run_dir(cfg), resume=path)
                except DataError as e:
                    st.error(f"Resume refused: {e}")
                except JobBusy as e:
                    st.warning(f"Resume refused: {e}")
                else:
                    st.rerun()

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
        if st.button("Load it", type="primary"):
            ss.active_generator = f"shipped:{name}"
        if ss.get("active_generator") == f"shipped:{name}":
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

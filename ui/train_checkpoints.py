"""The Train page's checkpoint panel: save and download a run's files, upload one, or load a
shipped generator; each can be explored on the Latent page or resumed as a new job."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from dcgan import checkpoint as ckpt
from dcgan import pretrained, runs
from dcgan.config import Config
from dcgan.i18n import _, number
from dcgan.images import grid_array, upscale
from dcgan.latent import generate, sample_z
from ui import jobs, state, uploads
from ui.generators import GeneratorChoice, Kind
from ui.train_controls import start


def explore(choice: GeneratorChoice) -> None:
    """Open the Latent page on this generator."""
    state.set_active_generator(choice)
    st.switch_page("pages/latent.py")


def save_now() -> None:
    """Ask the live job for a resumable checkpoint, or say why there is nothing to save."""
    job = jobs.current_job()
    s = job.status() if job is not None else {}
    if job is None:
        st.info(_("There is no training job to save yet."))
    elif s.get("status") == "failed":
        kept = s.get("checkpoint_path")
        st.warning(
            _("The job failed, so its current weights may be broken and are not saved.")
            + " "
            + (
                _("The last good checkpoint is `{path}`.").format(path=kept)
                if kept
                else _("No checkpoint was kept.")
            )
        )
    elif job.alive:
        job.save()
        st.success(
            _(
                "Asked the job for a full, resumable checkpoint (`step-N.pt` in its folder); it "
                "appears in the list below within a step."
            )
        )
    else:
        st.info(
            _("The job has ended; its final checkpoint is `{path}`, in the list below.").format(
                path=job.dir / runs.LAST
            )
        )


def saved_files() -> None:
    """The newest checkpoints and exports: download, explore, or resume each."""
    files = jobs.saved_checkpoints(10)
    if not files:
        st.caption(_("No checkpoints in `{folder}` yet.").format(folder=jobs.runs_dir()))
    for i, p in enumerate(files):
        c = st.columns([4, 1, 1, 1])
        try:
            shown = p.relative_to(jobs.runs_dir())
            mtime = p.stat().st_mtime
            size = p.stat().st_size
        except (ValueError, OSError):
            continue
        when = time.strftime("%H:%M:%S", time.localtime(mtime))
        c[0].markdown(
            f"`{shown}`  \n" + _("{size} MB, {time}").format(size=number(size / 1e6, 1), time=when)
        )
        c[1].download_button(
            _("Download"),
            data=lambda p=p: p.read_bytes(),
            file_name=p.name,
            on_click="ignore",
            key=f"dl_{i}",
        )
        if c[2].button(_("Latent page"), key=f"use_{i}", help=_("Explore this generator")):
            explore(GeneratorChoice(Kind.FILE, str(p)))
        if p.suffix == ".pt" and c[3].button(
            _("Resume"), key=f"res_{i}", help=_("Continue training")
        ):
            start(lambda p=p: Config.from_dict(ckpt.load(p)["config"]), resume=p)


def upload() -> None:
    """Check an uploaded checkpoint or export, show its samples, offer Latent and Resume."""
    up = st.file_uploader(
        _("A checkpoint (.pt) or a generator export (.safetensors) written by this app"),
        type=["pt", "safetensors"],
        key="ckpt_upload",
    )
    if up is None:
        return
    path = uploads.save_upload(up.name, up.getvalue())
    try:
        G, model, meta = ckpt.load_generator(path)  # torch.load(weights_only=True) inside
        saved = ckpt.load(path) if path.suffix == ".pt" else None
    except ckpt.CheckpointError as e:
        st.error(_("That file was refused: {error}").format(error=e))
        return
    state.add_uploaded_generator(str(path))
    st.success(
        _("{file}: a {size}×{size} generator, nz={nz}, ngf={ngf}, step {step}.").format(
            file=up.name,
            size=model.image_size,
            nz=model.nz,
            ngf=model.ngf,
            step=meta.get("step", "?"),
        )
    )
    st.image(
        upscale(grid_array(generate(G, sample_z(16, model.nz, 0)), nrow=8), 400),
        caption=_("16 samples, seed 0"),
    )
    c1, c2 = st.columns(2)
    if c1.button(_("Explore it on the Latent space page")):
        explore(GeneratorChoice(Kind.FILE, str(path)))
    if saved is not None and c2.button(_("Resume training from it")):
        start(lambda: Config.from_dict(saved["config"]), resume=path)


def shipped() -> None:
    """Load a generator from checkpoints/ with its model card fields."""
    available = pretrained.available()
    if not available:
        st.info(
            _(
                "No shipped generators in `checkpoints/` yet. Until they arrive, the Latent "
                "space page can use the training job's weights or any saved run."
            )
        )
        return
    names = list(available)
    name = st.selectbox(_("Shipped generator"), names, index=names.index(pretrained.default_name()))
    choice = GeneratorChoice(Kind.SHIPPED, name)
    if st.button(_("Load it"), type="primary"):
        state.set_active_generator(choice)
    if state.active_generator() != choice:
        return
    G, model, meta = pretrained.load(name)
    c1, c2 = st.columns([2, 3])
    c1.image(
        upscale(grid_array(generate(G, sample_z(64, model.nz, 0)), nrow=8)),
        caption=_("{name}: 64 samples, seed 0").format(name=name),
    )
    c2.dataframe(
        pd.DataFrame({_("field"): list(meta), _("value"): [str(v) for v in meta.values()]}),
        hide_index=True,
    )
    c2.page_link(
        "pages/latent.py",
        label=_("Explore it on the Latent space page"),
        icon=":material/explore:",
    )


def panel() -> None:
    """The three tabs: save and download, upload, shipped generators."""
    st.subheader(_("Checkpoints"))
    t_save, t_up, t_ship = st.tabs([_("Save and download"), _("Upload"), _("Shipped generators")])
    with t_save:
        if st.button(_("Save a checkpoint now")):
            save_now()
        saved_files()
    with t_up:
        upload()
    with t_ship:
        shipped()

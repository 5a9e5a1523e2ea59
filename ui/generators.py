"""The generator picker of the Train, Latent and lab pages: shipped, live, saved or uploaded.

A choice is a small typed value (GeneratorChoice), not a string with a magic prefix, so a new
kind of source is a new enum member that every `match` must handle.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import streamlit as st
import torch

from dcgan import checkpoint as ckpt
from dcgan import models, pretrained, runs
from dcgan.config import ModelConfig, preset
from dcgan.i18n import LANGUAGES, N_, _, use
from ui import links, state
from ui.jobs import DEFAULT_PRESET, current_job, runs_dir, saved_checkpoints


class Kind(StrEnum):
    """Where a generator comes from."""

    SHIPPED = "shipped"  # checkpoints/*.safetensors, with a model card
    LIVE = "live"  # the training job's latest snapshot (generator.safetensors in its run)
    FILE = "file"  # a saved run file or an upload
    UNTRAINED = "untrained"  # random weights: every page works with nothing trained


@dataclass(frozen=True)
class GeneratorChoice:
    """One option of the picker: its kind and what it refers to (a name or a path)."""

    kind: Kind
    ref: str = ""


@dataclass(frozen=True)
class Loaded:
    """A generator ready to sample, with what a user should know about it."""

    G: torch.nn.Module
    cfg: ModelConfig
    label: str
    note: str = ""  # shown as an info box: e.g. why the images are noise


UNTRAINED = GeneratorChoice(Kind.UNTRAINED)
LIVE = GeneratorChoice(Kind.LIVE)
# An option's English text is its id (the widget's value, and what a link names); the picker
# shows it in the session's language.
SHIPPED_OPT = N_("Shipped: {name}")
LIVE_OPT = N_("Training job: {name}")
UPLOADED_OPT = N_("Uploaded: {name}")
SAVED_OPT = N_("Saved: {name}")
UNTRAINED_OPT = N_("Untrained (random weights)")


@st.cache_resource(show_spinner=False, max_entries=8)
def _file_generator(path: str, mtime_ns: int):
    """Load a .pt or .safetensors generator once per file version (weights_only inside)."""
    return ckpt.load_generator(path)


@st.cache_resource(show_spinner=False)
def _untrained_generator():
    """A randomly initialised classroom generator."""
    cfg = preset(DEFAULT_PRESET).model
    return models.build(cfg, seed=0)[0].eval(), cfg


def _live_snapshot() -> Path | None:
    """The live (or newest) run's generator snapshot, if it wrote one."""
    job = current_job()
    if job is None:
        return None
    path = job.dir / runs.GENERATOR
    return path if path.exists() else None


def _option_texts() -> dict[GeneratorChoice, tuple[str, str]]:
    """Every generator this server can offer right now, as (N_ template, name) to show."""
    opts = {GeneratorChoice(Kind.SHIPPED, n): (SHIPPED_OPT, n) for n in pretrained.available()}
    if _live_snapshot() is not None:
        opts[LIVE] = (LIVE_OPT, current_job().dir.name)  # stable while it trains
    for p in state.uploaded_generators():
        opts[GeneratorChoice(Kind.FILE, p)] = (UPLOADED_OPT, Path(p).name.split("-", 1)[-1])
    for p in saved_checkpoints(12):
        if p.name == runs.GENERATOR:
            continue  # a run's live snapshot is the 'Training job' option or its last.pt
        try:
            rel = p.relative_to(runs_dir())
        except ValueError:
            rel = p
        opts[GeneratorChoice(Kind.FILE, str(p))] = (SAVED_OPT, str(rel))
    opts[UNTRAINED] = (UNTRAINED_OPT, "")
    return opts


def generator_options() -> dict[GeneratorChoice, str]:
    """Every generator this server can offer right now, with its (English) label: its id."""
    return {c: t.format(name=n) for c, (t, n) in _option_texts().items()}


def load_choice(choice: GeneratorChoice) -> Loaded:
    """Load the generator a choice names; raises CheckpointError for a bad or missing file."""
    match choice.kind:
        case Kind.SHIPPED:
            G, cfg, meta = pretrained.load(choice.ref)
            steps = meta.get("step", "?")
            label = _("shipped generator '{name}' (trained {steps} steps)")
            return Loaded(G, cfg, label.format(name=choice.ref, steps=steps))
        case Kind.LIVE:
            path = _live_snapshot()
            if path is None:
                raise ckpt.CheckpointError(
                    _("the training job has no weights yet; start one first.")
                )
            G, cfg, meta = _file_generator(str(path), path.stat().st_mtime_ns)
            step = int(meta.get("step", 0) or 0)
            note = ""
            if step < 100:
                note = _(
                    "The training job is only at step {step}: its samples are still blobs. "
                    "They sharpen as it trains; come back in a minute."
                ).format(step=step)
            return Loaded(G, cfg, _("the training job at step {step}").format(step=step), note)
        case Kind.FILE:
            path = Path(choice.ref)
            if not path.exists():
                raise ckpt.CheckpointError(
                    _("{name} is gone; pick another generator.").format(name=path.name)
                )
            G, cfg, meta = _file_generator(str(path), path.stat().st_mtime_ns)
            label = _("{name} (step {step})").format(name=path.name, step=meta.get("step", "?"))
            return Loaded(G, cfg, label)
        case Kind.UNTRAINED:
            G, cfg = _untrained_generator()
            return Loaded(
                G,
                cfg,
                _("an untrained generator"),
                _(
                    "No trained generator is selected, so these images are what random weights "
                    "make: smooth noise. Start a run on the Train page (a minute on the shapes "
                    "gives recognisable shapes), then pick 'Training job' here, or load a "
                    "shipped generator."
                ),
            )
    raise ckpt.CheckpointError(f"unknown generator kind {choice.kind!r}.")


def default_choice(options: dict[GeneratorChoice, str]) -> GeneratorChoice:
    """The session's chosen model, else a shipped one, else the live job, else the first."""
    chosen = state.active_generator()
    if chosen in options:
        return chosen
    shipped = pretrained.default_name()
    if shipped and GeneratorChoice(Kind.SHIPPED, shipped) in options:
        return GeneratorChoice(Kind.SHIPPED, shipped)
    if LIVE in options:
        return LIVE
    return next(iter(options))


def _picked(key: str, by_label: dict[str, GeneratorChoice]) -> None:
    """The user chose in the selectbox: that becomes the session's generator."""
    state.set_active_generator(by_label.get(st.session_state[key]))


def _named_in_a_link(key: str, texts: dict, shown: set[str]) -> GeneratorChoice | None:
    """The option a link's `key` names in another language than the session's, if any: the
    URL holds the label as its sender read it, and a French link must open in English too."""
    raw = st.session_state.get(links.RAW, {}).get(key)
    if not raw or raw[0] in shown:
        return None
    for lang in LANGUAGES:
        with use(lang):
            for c, (t, n) in texts.items():
                if _(t).format(name=n) == raw[0]:
                    return c
    return None


def generator_picker(label: str | None = None, key: str = "gen_choice") -> Loaded | None:
    """A selectbox over generator_options(); the loaded generator, or None after an error.

    The widget holds the option's label (stable and readable); the session keeps the typed
    GeneratorChoice it stands for as state.ACTIVE_GENERATOR, which a button on another page may
    also set (e.g. "Latent page" beside a saved run). `label` defaults to "Generator", in
    the session's language."""
    texts = _option_texts()
    options = {c: t.format(name=n) for c, (t, n) in texts.items()}
    shown_as = {options[c]: _(t).format(name=n) for c, (t, n) in texts.items()}
    by_label = {v: k for k, v in options.items()}
    linked = _named_in_a_link(key, texts, set(shown_as.values()))
    if linked is not None:  # as if the link had named it in this session's language
        state.set_active_generator(linked)
        st.session_state[links.RAW][key] = [options[linked]]  # honoured: no note
    want = default_choice(options)
    if by_label.get(st.session_state.get(key)) != want:
        st.session_state[key] = options[want]
    shown = st.selectbox(
        label or _("Generator"),
        list(by_label),
        format_func=shown_as.get,
        key=key,
        on_change=_picked,
        args=(key, by_label),
        bind="query-params",  # a link names its generator; a gone one falls back, with a note
        help=_(
            "Shipped generators live in `checkpoints/*.safetensors`; saved runs in "
            "`checkpoints/runs/`; the training job's weights update as it trains."
        ),
    )
    links.note((key,))
    choice = by_label[shown]
    state.set_active_generator(choice)
    try:
        return load_choice(choice)
    except ckpt.CheckpointError as e:
        st.error(_("Could not load that generator: {error}").format(error=e))
        return None

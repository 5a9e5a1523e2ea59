"""What the teaching lab's pages share: the file behind the picked generator, the data it
trained on and its discriminator, each loaded once per file version for every session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch

from dcgan import pretrained, provenance, runs
from dcgan.config import ModelConfig
from ui import state
from ui.generators import Kind, Loaded, generator_picker
from ui.jobs import current_job


def pick_generator(key: str) -> tuple[Loaded, Path | None]:
    """A lab page's generator picker: stops the page when there is nothing to pick, shows the
    pick's note, and returns the pick with the file it came from (generator_file)."""
    gen = generator_picker(key=key)
    if gen is None:
        st.stop()
    if gen.note:
        st.info(gen.note)
    return gen, generator_file(key)


def generator_file(key: str) -> Path | None:
    """The file the picker `key` loaded from: a shipped export, a saved file, or the live
    run's last.pt (it holds D and the config); None for the untrained generator."""
    choice = st.session_state.get(key)
    if not hasattr(choice, "kind"):
        # widget state may hold the option's serialised form; the picker's return value,
        # which it also stores as the session's active generator, is the choice itself
        choice = state.active_generator()
    if not hasattr(choice, "kind"):
        return None
    match choice.kind:
        case Kind.SHIPPED:
            return pretrained.available().get(choice.ref)
        case Kind.FILE:
            return Path(choice.ref)
        case Kind.LIVE:
            job = current_job()
            if job is None:
                return None
            for name in (runs.LAST, runs.GENERATOR):
                if (job.dir / name).exists():
                    return job.dir / name
    return None


def _mtime(path: Path | None) -> int:
    return path.stat().st_mtime_ns if path is not None and path.exists() else 0


@st.cache_data(show_spinner=False, max_entries=16)
def _spec(path: str | None, mtime_ns: int) -> provenance.DataSpec:
    return provenance.data_spec(path)


def data_spec(path: Path | None) -> provenance.DataSpec:
    """What the generator's file says about its training data (cached per file version)."""
    try:
        return _spec(str(path) if path else None, _mtime(path))
    except (ValueError, OSError):
        return provenance.DataSpec(None)


@st.cache_resource(show_spinner=False, max_entries=2)
def training_data(
    source: str, size: int, _spec: provenance.DataSpec, spec_key: str
) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """(train, held-out or None, source), decoded once per dataset and size for all sessions."""
    return provenance.training_data(_spec, size, source)


@st.cache_resource(show_spinner=False, max_entries=4)
def _discriminator(path: str | None, mtime_ns: int, _cfg: ModelConfig, cfg_key: str):
    return provenance.discriminator_for(path, _cfg)


def discriminator(path: Path | None, cfg: ModelConfig):
    """(D, note): the run's trained D from a .pt, else a random D of the same architecture."""
    return _discriminator(str(path) if path else None, _mtime(path), cfg, repr(cfg))


def hwc(images: torch.Tensor) -> list[np.ndarray]:
    """uint8 (N, 3, H, W) -> list of (H, W, 3) arrays."""
    return list(images.permute(0, 2, 3, 1).numpy())

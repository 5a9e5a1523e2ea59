"""The session-state keys one page leaves for another, each named once with its reader and writer.

A page's own widget keys (tr_lr, mem_source, ...) stay on that page; only what crosses pages
lives here, so a rename or a new hand-over is one place, and grep finds every user.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

TRAIN_CFG = "train_cfg"  # dict: the config of the job this session last started (Train)
TRAIN_SOURCE = "train_source"  # str: a dataset the Data page hands to the Train page
TRAIN_CLASSES = "train_classes"  # list[int]: the class filter that goes with TRAIN_SOURCE
ACTIVE_GENERATOR = "active_generator"  # GeneratorChoice: the model every picker starts on
UPLOADED_GENERATORS = "uploaded_generators"  # list[str]: generator files this session uploaded


def train_cfg() -> dict | None:
    """The config (as a dict) of the job this session last started, if any."""
    return st.session_state.get(TRAIN_CFG)


def set_train_cfg(cfg: dict) -> None:
    """Remember the config of the job this session just started."""
    st.session_state[TRAIN_CFG] = cfg


def hand_dataset(source: str, classes: tuple[int, ...] | None) -> None:
    """Leave a dataset (and class filter) for the Train page to select on its next run."""
    st.session_state[TRAIN_SOURCE] = source
    st.session_state[TRAIN_CLASSES] = list(classes or [])


def take_dataset() -> tuple[str, list[int]] | None:
    """The dataset another page handed over, removed so it applies once; None when none."""
    ss = st.session_state
    if TRAIN_SOURCE not in ss:
        return None
    return ss.pop(TRAIN_SOURCE), list(ss.pop(TRAIN_CLASSES, None) or [])


def active_generator() -> Any:
    """The GeneratorChoice the session last picked or was sent to, or None."""
    return st.session_state.get(ACTIVE_GENERATOR)


def set_active_generator(choice: Any) -> None:
    """Make `choice` the generator every picker starts on."""
    st.session_state[ACTIVE_GENERATOR] = choice


def uploaded_generators() -> list[str]:
    """Paths of the generator files this session uploaded, oldest first."""
    return list(st.session_state.get(UPLOADED_GENERATORS, []))


def add_uploaded_generator(path: str) -> None:
    """Offer an uploaded generator file in every picker of this session."""
    uploaded = st.session_state.setdefault(UPLOADED_GENERATORS, [])
    if path not in uploaded:
        uploaded.append(path)

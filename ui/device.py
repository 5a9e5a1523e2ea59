"""The device and precision training picks on this machine, for captions and the sidebar."""

from __future__ import annotations

import streamlit as st
import torch

from dcgan.hardware import default_threads, pick_device, pick_precision
from dcgan.i18n import ngettext


@st.cache_resource(show_spinner=False)
def device_info() -> dict:
    """The device and precision a job picks here, the trainer's threads, and the machine."""
    dev = pick_device("auto")
    info = {
        "device": str(dev),
        "precision": pick_precision("auto", dev),
        "torch": torch.__version__,
        "threads": default_threads(),  # what the job process takes, not this server
    }
    if dev.type == "cuda":
        info["name"] = torch.cuda.get_device_name(dev)
    return info


def device_line() -> str:
    """One line naming the device, e.g. 'cpu (bf16, 4 CPU threads)'."""
    d = device_info()
    n = d["threads"]
    name = d.get("name") or ngettext("{n} CPU thread", "{n} CPU threads", n).format(n=n)
    return f"{d['device']} ({d['precision']}, {name})"

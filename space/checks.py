"""The Space's input checks: every value a client sends is checked on the server, because a
client can send anything. A bad value gets a gr.Error that names the field and says what to send.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from dcgan.i18n import _, listing

MAX_SEED = 2**31 - 1  # JavaScript-safe, and what torch.manual_seed takes everywhere
MAX_SAMPLES = 64  # an 8x8 grid, the chapter's figure; bench/space_latency.py times it
MAX_STEPS = 16  # images in an interpolation strip
POOL_SIZES = ("16", "24", "32", "48")  # candidates in the vector-arithmetic grid
MAX_PICKS = 8  # samples per arithmetic group; the paper averages three
MIN_SECONDS = 5  # shorter training runs show nothing but noise


def _show(value) -> str:
    """A short repr of a client's value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def whole(value, name: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi], or a gr.Error naming the field and the range."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise gr.Error(
            _("{name} must be a whole number from {lo} to {hi}, not {value}.").format(
                name=_(name), lo=lo, hi=hi, value=_show(value)
            )
        )
    if not lo <= value <= hi:
        raise gr.Error(
            _("{name} {value} is out of range: choose a whole number from {lo} to {hi}.").format(
                name=_(name), value=value, lo=lo, hi=hi
            )
        )
    return value


def real(value, name: str, lo: float, hi: float) -> float:
    """A finite number in [lo, hi] (tiny overshoots from slider rounding are clamped)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise gr.Error(
            _("{name} must be a number from {lo} to {hi}, not {value}.").format(
                name=_(name), lo=f"{lo:g}", hi=f"{hi:g}", value=_show(value)
            )
        )
    if not lo - 1e-6 <= value <= hi + 1e-6:
        raise gr.Error(
            _("{name} {value} is out of range: choose from {lo} to {hi}.").format(
                name=_(name), value=f"{value:g}", lo=f"{lo:g}", hi=f"{hi:g}"
            )
        )
    return float(min(max(value, lo), hi))


def choice(value, name: str, options) -> str:
    """One of the allowed options, or a gr.Error listing them."""
    if not isinstance(value, str) or value not in options:
        raise gr.Error(
            _("{name} must be one of {options}, not {value}.").format(
                name=_(name), options=listing(options, "or"), value=_show(value)
            )
        )
    return value


def flag(value, name: str) -> bool:
    """A true/false switch."""
    if not isinstance(value, bool):
        raise gr.Error(
            _("{name} must be true or false, not {value}.").format(name=_(name), value=_show(value))
        )
    return value


def picks(value, name: str, pool: int) -> list[int]:
    """Sample numbers typed as '0, 3, 7': 1 to MAX_PICKS distinct indices into the grid."""
    if not isinstance(value, str) or len(value) > 200:
        raise gr.Error(
            _("{name}: type the grid numbers separated by commas, e.g. 0, 3, 7.").format(
                name=_(name)
            )
        )
    tokens = value.replace(",", " ").split()
    if not tokens:
        raise gr.Error(
            _("{name} is empty: pick at least one sample number from the grid.").format(
                name=_(name)
            )
        )
    out = []
    for tok in tokens:
        if not tok.isdigit() or int(tok) >= pool:
            raise gr.Error(
                _("{name}: {value} is not a number on the grid (0 to {last}).").format(
                    name=_(name), value=_show(tok), last=pool - 1
                )
            )
        if int(tok) not in out:
            out.append(int(tok))
    if len(out) > MAX_PICKS:
        raise gr.Error(
            _("{name}: pick at most {most} samples, not {n}.").format(
                name=_(name), most=MAX_PICKS, n=len(out)
            )
        )
    return out


def session_id(request) -> str:
    """Gradio's session id of this request, checked before it names a folder."""
    h = getattr(request, "session_hash", None)
    if not isinstance(h, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", h):
        raise gr.Error(_("This request has no valid session id: reload the page and try again."))
    return h


def uploaded(value, name: str) -> tuple[Path, str]:
    """A file the client uploaded to this server (Gradio's FileData): its path, which must lie
    in Gradio's upload folder, and its name in safe characters to show back; else a gr.Error."""
    path = value.get("path") if isinstance(value, dict) else None
    if not isinstance(path, str) or not path or "\x00" in path:
        raise gr.Error(_("{name}: choose a .zip file of images to upload.").format(name=_(name)))
    p = Path(path).resolve()
    # Gradio already refuses a path its upload route did not write; checked here too, since
    # this file is read and then deleted
    if Path(get_upload_folder()).resolve() not in p.parents or not p.is_file():
        raise gr.Error(
            _("{name}: that file was not uploaded here; choose it again.").format(name=_(name))
        )
    # shown in Markdown and in error messages: no markup, no control characters
    return p, re.sub(r"[^A-Za-z0-9._ -]", "_", p.name)[:60]

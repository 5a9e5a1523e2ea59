"""The generators shipped in checkpoints/, found by name, so both UIs open with a model ready.

Each shipped file is a safetensors generator export whose metadata carries its config; see
checkpoints/README.md (the model card) for how each was trained.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch

from .checkpoint import load_generator, read_metadata

CHECKPOINT_DIR = Path(
    os.environ.get("DCGAN_CHECKPOINTS", Path(__file__).resolve().parents[1] / "checkpoints")
)
DEFAULT = "anime-faces"  # the most recognisable samples of the shipped set
_cache: dict[tuple[str, str], tuple[torch.nn.Module, object, dict]] = {}
_lock = threading.Lock()


def available(folder: Path | None = None) -> dict[str, Path]:
    """Shipped generators by name ('anime-faces' for anime-faces.safetensors), sorted."""
    folder = Path(folder or CHECKPOINT_DIR)
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.safetensors"))}


def default_name(folder: Path | None = None) -> str | None:
    """DEFAULT when shipped, else the first available, else None."""
    names = available(folder)
    if DEFAULT in names:
        return DEFAULT
    return next(iter(names), None)


def describe(name: str, folder: Path | None = None) -> dict:
    """The metadata of a shipped generator (dataset, steps, command...)."""
    return read_metadata(available(folder)[name])


def load(name: str, device: str = "cpu", folder: Path | None = None):
    """(G, ModelConfig, metadata) for a shipped generator, loaded once per process."""
    paths = available(folder)
    if name not in paths:
        raise KeyError(f"no shipped generator named {name!r}; available: {sorted(paths)}")
    key = (str(paths[name]), str(device))
    with _lock:
        if key not in _cache:
            _cache[key] = load_generator(paths[name], device=device)
        return _cache[key]

"""What a generator file says about how it was trained: the dataset (DataSpec), the training
images with the held-out rest, and its discriminator. The lab pages and the memorisation CLI
read a generator's provenance here, whether it is a full .pt checkpoint, a run folder's
snapshot beside its config.json, or a shipped export with metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .i18n import N_, _


class Lazy(str):
    """A message whose str value is its English text (what JSON, files and the CLI get) and
    which shows itself in the language of the moment wherever it is formatted or str()-ed:
    for text made once and cached for every session (ui.lab caches discriminator_for)."""

    def __new__(cls, msgid: str, **params):
        obj = super().__new__(cls, msgid.format(**params))
        obj.msgid, obj.params = msgid, params
        return obj

    def __str__(self) -> str:
        return _(self.msgid).format(**self.params)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def discriminator_for(path: str | Path | None, model_cfg, seed: int = 0):
    """(D, note): the trained D of a full .pt checkpoint, else a randomly initialised one.

    Generator exports (.safetensors) carry no discriminator, so their feature space is a
    random D of the same architecture: random conv features still group similar images,
    but they are not what the trained D learned to see, and the note says so.
    """
    from . import checkpoint as ckpt
    from .config import Config
    from .models import Discriminator, build

    if path is not None and Path(path).suffix == ".pt":
        state = ckpt.load(path)
        if "D" in state:
            cfg = Config.from_dict(state["config"]).model
            D = Discriminator(cfg)
            D.load_state_dict(state["D"])
            return D.eval(), Lazy(N_("the trained discriminator in {name}"), name=Path(path).name)
    D = build(model_cfg, seed=seed)[1].eval()
    return D, Lazy(
        N_(
            "a randomly initialised discriminator of the same architecture (generator exports "
            "carry no D): random features, a rough stand-in for what a trained D sees"
        )
    )


@dataclass
class DataSpec:
    """What a checkpoint says about the images it trained on."""

    source: str | None  # None: the file does not say
    limit: int | None = None  # data.load keeps the first `limit`: the rest are held out
    classes: tuple[int, ...] | None = None
    flip: bool = False  # trained with mirrored images: mirrored copies count as copies


def data_spec(path: str | Path | None) -> DataSpec:
    """Read a .pt checkpoint's config, a run folder's config.json beside a generator export,
    or an export's metadata (dataset, and --flip in its command)."""
    from . import checkpoint as ckpt
    from .config import Config

    if path is None:
        return DataSpec(None)
    path = Path(path)
    cfg = None
    if path.suffix == ".pt":
        cfg = Config.from_dict(ckpt.load(path)["config"])
    elif (path.parent / "config.json").is_file():  # a run folder's generator snapshot
        try:
            cfg = Config.from_dict(json.loads((path.parent / "config.json").read_text()))
        except (OSError, ValueError):
            cfg = None
    if cfg is not None:
        d = cfg.data
        return DataSpec(d.source, d.limit, d.classes, d.flip)
    meta = ckpt.read_metadata(path)
    return DataSpec(meta.get("dataset"), flip="--flip" in meta.get("command", ""))


def training_data(
    spec: DataSpec, size: int, source: str | None = None, progress=None
) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """(train images, held-out images or None, source) as the spec describes the run;
    `source` overrides the dataset (its limit and classes then no longer apply)."""
    from .data import load

    name = source or spec.source
    if not name:
        raise ValueError(_("the generator does not name its dataset; pick or pass one (--data)."))
    same = name == spec.source
    full = load(name, size, classes=spec.classes if same else None, progress=progress)
    if same and spec.limit is not None and spec.limit < len(full):
        # data.load keeps the first `limit` images, so the rest were never trained on
        return full.images[: spec.limit], full.images[spec.limit :], name
    return full.images, None, name

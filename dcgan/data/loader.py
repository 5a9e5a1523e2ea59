"""`load`: any source to an ImageSet, through the cache; and the batch transform on the device."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from ..i18n import _
from .cache import cache_key, cache_load, cache_save
from .decode import read_images
from .imageset import DataError, ImageSet, Progress, subset
from .sources import SOURCES


def load(
    source: str,
    size: int = 64,
    classes: tuple[int, ...] | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    cache: bool = True,
) -> ImageSet:
    """Load a registered source (SOURCES) or a folder/zip path as an ImageSet of size x size RGB
    images, decoded once and then read from the cache."""
    if size < 8 or size > 512:
        raise DataError(
            _("image size {size} is out of range; use 8 to 512 (the models use 32-128).").format(
                size=size
            )
        )
    named = SOURCES.get(source)
    if named is not None:
        where, read = named.locate(progress), named.read
    else:
        where, read = path_source(source), read_images

    key = cache_key(where, size)
    s = cache_load(key) if cache else None
    if s is None:
        s = read(where, size, progress)
        s.source = source
        if cache and len(s):
            cache_save(key, s)
    s.source = source
    if classes is not None:
        if s.labels is None:
            raise DataError(
                _("{source} has no classes to filter; drop the class filter.").format(source=source)
            )
        keep = torch.isin(s.labels, torch.tensor(list(classes)))
        idx = keep.nonzero().flatten().tolist()
        s = subset(s, idx)
    if limit is not None:
        s = subset(s, list(range(min(limit, len(s)))))
    if len(s) == 0:
        raise DataError(
            _(
                "{source} holds no usable images ({n} skipped: {reasons}). Give a folder or zip "
                "of PNG/JPEG images."
            ).format(source=source, n=len(s.skipped), reasons=dict(s.skip_reasons()))
        )
    return s


def path_source(source: str) -> Path:
    """A source that is not a registered name: an existing folder or zip, else a DataError."""
    p = Path(source).expanduser()
    if not p.exists():
        raise DataError(
            _(
                "unknown dataset {source}: it is not one of {names} and no such file or folder "
                "exists."
            ).format(source=repr(source), names=", ".join(SOURCES))
        )
    if not (p.is_dir() or p.is_file()):
        raise DataError(
            _(
                "{source} is neither a folder nor a regular file (a pipe or device?); give a "
                "folder or a .zip of images."
            ).format(source=source)
        )
    if p.is_file() and not zipfile.is_zipfile(p):
        raise DataError(
            _("{source} is a file but not a zip; give a folder or a .zip of images.").format(
                source=source
            )
        )
    return p


def to_model_range(
    batch: torch.Tensor, flip: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """uint8 (N,3,H,W) on any device -> float in [-1, 1], optionally flipped left-right."""
    x = batch.float().mul_(2.0 / 255.0).sub_(1.0)
    if flip:
        mask = torch.rand(x.shape[0], 1, 1, 1, device=x.device, generator=generator) < 0.5
        x = torch.where(mask, x.flip(-1), x)
    return x

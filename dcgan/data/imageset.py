"""The ImageSet every source returns, the DataError every refusal raises, and the progress type."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

Progress = Callable[[int, int], None]  # (done, total); total may be 0 when unknown


class DataError(ValueError):
    """A dataset could not be used; the message says why and what to do."""


@dataclass
class ImageSet:
    """Decoded images plus what a user should know about how they were obtained."""

    images: torch.Tensor  # (N, 3, H, W) uint8
    source: str
    names: list[str] = field(default_factory=list)
    labels: torch.Tensor | None = None  # class index per image, when the source has classes
    class_names: list[str] = field(default_factory=list)
    attributes: list[dict] | None = None  # ground truth for "shapes"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    from_cache: bool = False

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def resolution(self) -> int:
        return int(self.images.shape[-1])

    def skip_reasons(self) -> Counter:
        """How many files were skipped for each reason."""
        return Counter(reason for _, reason in self.skipped)

    def summary(self) -> str:
        """Human summary: counts, resolution and skip reasons."""
        lines = [
            f"source: {self.source}",
            f"images loaded: {len(self)}",
            f"resolution: {self.resolution}x{self.resolution} RGB",
            f"images skipped: {len(self.skipped)}",
        ]
        for reason, n in self.skip_reasons().most_common():
            lines.append(f"  {n} x {reason}")
        if self.class_names:
            lines.append(f"classes: {len(self.class_names)}")
        return "\n".join(lines)


def _class_of(name: str) -> str:
    """ImageFolder class: the image's parent folder name ('' when flat)."""
    parts = Path(name).parts
    return parts[-2] if len(parts) >= 2 else ""


def pack(arrays: np.ndarray, names, skipped, source: str) -> ImageSet:
    """Pack decoded (N, H, W, 3) arrays into an ImageSet with ImageFolder-style labels."""
    classes = sorted({_class_of(n) for n in names})
    labels = None
    if len(classes) > 1:
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[_class_of(n)] for n in names], dtype=torch.int64)
    images = torch.from_numpy(arrays).permute(0, 3, 1, 2).contiguous()
    return ImageSet(
        images=images,
        source=source,
        names=names,
        labels=labels,
        class_names=classes if labels is not None else [],
        skipped=skipped,
    )


def subset(s: ImageSet, idx: list[int]) -> ImageSet:
    """The same set restricted to idx, in that order."""
    t = torch.tensor(idx, dtype=torch.int64)
    return ImageSet(
        images=s.images[t],
        source=s.source,
        names=[s.names[i] for i in idx] if s.names else [],
        labels=s.labels[t] if s.labels is not None else None,
        class_names=s.class_names,
        attributes=[s.attributes[i] for i in idx] if s.attributes else None,
        skipped=s.skipped,
        from_cache=s.from_cache,
    )

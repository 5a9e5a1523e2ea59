"""The on-disk cache: each source decoded once into a uint8 tensor file under $DCGAN_DATA_DIR."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

from .imageset import ImageSet

CACHE_VERSION = 2  # bump when decoding changes, so stale caches are not reused


def data_dir() -> Path:
    """Cache folder: $DCGAN_DATA_DIR, else ./data beside the working directory."""
    return Path(os.environ.get("DCGAN_DATA_DIR", "data")).expanduser()


def cache_key(source: Path | str, size: int) -> str:
    """A cache key naming the source's identity and image size: a Path by where it is, its size
    on disk and mtime (a replaced file is decoded again); a name by the name alone."""
    if isinstance(source, Path):
        st = source.stat()
        ident = f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    else:
        ident = source
    digest = hashlib.sha1(f"v{CACHE_VERSION}|{ident}|{size}".encode()).hexdigest()[:16]
    slug = "".join(ch if ch.isalnum() else "-" for ch in Path(source).name)[:40]
    return f"{slug}-{size}-{digest}"


def cache_load(key: str) -> ImageSet | None:
    """Load a cached ImageSet, or None when absent or unreadable."""
    path = data_dir() / "cache" / f"{key}.pt"
    if not path.exists():
        return None
    try:
        d = torch.load(path, weights_only=True)
        return ImageSet(
            images=d["images"],
            source=d["source"],
            names=list(d["names"]),
            labels=d.get("labels"),
            class_names=list(d.get("class_names", [])),
            attributes=d.get("attributes"),
            skipped=[tuple(s) for s in d.get("skipped", [])],
            from_cache=True,
        )
    except Exception:
        return None  # a stale or damaged cache is rebuilt, never trusted


def cache_save(key: str, s: ImageSet) -> None:
    """Write the decoded set atomically so a crash never leaves a half cache."""
    folder = data_dir() / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(
            {
                "images": s.images,
                "source": s.source,
                "names": s.names,
                "labels": s.labels,
                "class_names": s.class_names,
                "attributes": s.attributes,
                "skipped": [list(x) for x in s.skipped],
            },
            tmp,
        )
        os.replace(tmp, folder / f"{key}.pt")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

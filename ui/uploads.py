"""Uploaded datasets and checkpoints: stored by content hash outside the repo, paths checked."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from dcgan import data as dcdata


def uploads_dir() -> Path:
    """Uploaded files are kept here (outside the repo) for the life of the machine."""
    d = Path(tempfile.gettempdir()) / "dcgan-playground-uploads"
    d.mkdir(parents=True, exist_ok=True)
    return d


def check_source(source: str) -> None:
    """Raise DataError when a dataset path lies outside what browser users may read."""
    dcdata.check_path_allowed(source, extra_roots=(uploads_dir(),))


def save_upload(name: str, data: bytes) -> Path:
    """Write uploaded bytes to a file named by their hash, so the same upload is one file."""
    digest = hashlib.sha1(data).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[-60:] or "upload"
    path = uploads_dir() / f"{digest}-{safe}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path

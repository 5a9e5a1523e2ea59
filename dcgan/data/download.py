"""Downloads that land whole or not at all: a temp file beside the target, sha1-checked first."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from ..i18n import _
from .imageset import DataError, Progress


def sha1_of(path: Path, chunk: int = 1 << 20) -> str:
    """sha1 of a file, streamed."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(
    url: str, dest: Path, sha1: str | None = None, progress: Progress | None = None
) -> Path:
    """Fetch url (http, https or file) to dest via a temp file; verify sha1 before it lands.

    A failed or mismatched download leaves nothing at dest and no partial file beside it.
    """
    dest = Path(dest)
    if dest.exists() and (sha1 is None or sha1_of(dest) == sha1):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DataError(
            _("cannot download {url}: only http, https and file URLs are supported.").format(
                url=repr(url)
            )
        )
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.sha1()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while block := resp.read(1 << 20):
                out.write(block)
                h.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if sha1 is not None and h.hexdigest() != sha1.lower():
            raise DataError(
                _(
                    "checksum mismatch for {url}: expected sha1 {expected}, got {got}. The file "
                    "was discarded; check the URL (or DCGAN_POKEMON_SHA1) and try again."
                ).format(url=url, expected=sha1, got=h.hexdigest())
            )
        os.replace(tmp, dest)
    except OSError as e:
        raise DataError(
            _(
                "could not download {url}: {error}. Check the network, or set DCGAN_POKEMON_URL "
                "to a local copy (file:///path/to/pokemon.zip)."
            ).format(url=url, error=e)
        ) from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest

"""A visitor's own images for a live run: an untrusted zip checked, decoded under a Space's
limits, and rewritten as one small zip of PNGs inside the visitor's folder.

The Space's Train tab hands the uploaded file to `prepare_upload` (any UI could). What can be
wrong with an upload, and where it is caught:

- too big, unreadable, or not a zip: refused here before anything is parsed;
- too many members: refused from the zip's end record, before its directory is parsed;
- traversal names ('../x.png', absolute paths), links, encrypted members, decompression bombs
  (a huge ratio or a huge image) and corrupt images: skipped by dcgan.data.decode.read_zip,
  each with its reason; members are read, never extracted, so no name becomes a path;
- too few usable images for one training batch (none at all included): refused with the
  counts and the reasons.

Only the decoded pixels are kept, as PNGs named 0000.png, 0001.png... in one zip at
live.uploaded_zip(folder), written under a temporary name and renamed into place: no name or
byte of the visitor's file reaches the run, and nothing is written outside `folder`. The run
that trains on it keeps its decoded copy out of the shared data cache (live.live_config), so
removing the visitor's folder removes every copy.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import live
from .config import preset
from .data import DataError, ZipLimits, read_zip
from .data.decode import _announced_members
from .images import png_bytes

# The file as uploaded. A live run trains on 32 px images for a minute, so more bytes buy only
# decode time on the Space's shared CPU: 50 MB holds thousands of small images or a few dozen
# phone photos. Gradio's upload route refuses bigger files first (app.py's max_file_size).
UPLOAD_MAX_BYTES = 50_000_000
UPLOAD_LIMITS = ZipLimits(
    # a minute's run sees each of 5,000 images about ten times on a CPU, and 5,000 small
    # images decode in a few seconds on the Space's two CPUs; the app allows 200,000
    max_members=5_000,
    # one image: a 12-megapixel phone JPEG fits; the run shrinks it to 32 px anyway
    max_member_bytes=20_000_000,
    # all members unpacked: ten times the upload cap, since PNG and JPEG barely compress
    max_total_bytes=500_000_000,
    max_ratio=ZipLimits().max_ratio,  # as the app: real images sit near 1, bombs far above
)
# Decoding stops after this long: images inside every limit (each up to 40 megapixels) can
# still ask for minutes of CPU. read_zip reports progress every 256 images, so the check lands
# within 256 decodes of the deadline.
DECODE_BUDGET_S = 60.0
# one training batch of the live preset: the trainer refuses a dataset smaller than its batch
MIN_IMAGES = preset(live.PRESET).train.batch_size
SIZE = preset(live.PRESET).model.image_size  # stored at the run's own size: no second resize
FORMATS = "PNG, JPEG, GIF, BMP or WebP"


@dataclass(frozen=True)
class UploadSummary:
    """What came of an upload: the images kept, and the files skipped with their reasons."""

    name: str  # the file's name, as the visitor knows it
    count: int  # images kept, in live.uploaded_zip(folder)
    skipped: int  # members skipped
    path: Path  # the prepared zip a run trains on
    reasons: dict[str, int] = field(default_factory=dict)  # skip reason -> how many

    def reasons_text(self) -> str:
        """'3 × not an image file, 1 × unsafe path in zip (...)', most common first."""
        return reasons_text(self.reasons)


def reasons_text(reasons: dict[str, int]) -> str:
    """Skip reasons with their counts, most common first."""
    return ", ".join(f"{n} × {reason}" for reason, n in Counter(reasons).most_common())


def prepare_upload(
    zip_path: str | Path, folder: str | Path, name: str | None = None
) -> UploadSummary:
    """Check and decode an uploaded zip, then write its images as the visitor's upload under
    folder (replacing an earlier one); a DataError says what is wrong and what to send."""
    zip_path = Path(zip_path)
    name = name or zip_path.name
    _check_file(zip_path, name)
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if time.monotonic() - started > DECODE_BUDGET_S:
            raise DataError(
                f"{name} took more than {DECODE_BUDGET_S:.0f} s to decode; "
                "send fewer or smaller images."
            )

    try:
        images = read_zip(zip_path, SIZE, progress, limits=UPLOAD_LIMITS)
    except DataError as e:  # its messages name the file by the server's path: use the visitor's
        raise DataError(str(e).replace(str(zip_path), name)) from None
    reasons = dict(images.skip_reasons())
    skipped = f" {len(images.skipped)} skipped: {reasons_text(reasons)}." if reasons else ""
    if len(images) == 0:
        raise DataError(f"{name} holds no usable image.{skipped} Zip {FORMATS} images.")
    if len(images) < MIN_IMAGES:
        raise DataError(
            f"{name} holds {len(images)} usable images; a run needs at least {MIN_IMAGES} "
            f"(one training batch).{skipped} Add images and upload it again."
        )
    dest = live.uploaded_zip(folder)
    _write_pngs(images.images, dest)
    return UploadSummary(name, len(images), len(images.skipped), dest, reasons)


def _check_file(path: Path, name: str) -> None:
    """Refuse what is not worth parsing: unreadable, too big, not a zip, too many members."""
    try:
        st = path.stat()
    except OSError as e:
        raise DataError(f"{name} could not be read ({e.strerror}); choose the file again.") from e
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{name} is not a regular file; choose a .zip of images.")
    if st.st_size > UPLOAD_MAX_BYTES:
        raise DataError(
            f"{name} is {st.st_size / 1e6:.0f} MB; the limit is {UPLOAD_MAX_BYTES / 1e6:.0f} MB. "
            f"Zip fewer or smaller images (the run trains on {SIZE}x{SIZE} pixels)."
        )
    if not zipfile.is_zipfile(path):
        raise DataError(f"{name} is not a zip file. Put your {FORMATS} images in a zip.")
    # from the end record, before zipfile builds an object for every entry of the directory
    announced = _announced_members(path)
    if announced is not None and announced > UPLOAD_LIMITS.max_members:
        raise DataError(
            f"{name} has {announced:,} entries; the limit is {UPLOAD_LIMITS.max_members:,}. "
            "Zip fewer images."
        )


def _write_pngs(images, dest: Path) -> None:
    """The (N, 3, H, W) uint8 images as 0000.png... in one zip at dest, whole or not at all."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        # stored, not deflated: PNG is compressed already
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
            for i, img in enumerate(images):
                zf.writestr(f"{i:04d}.png", png_bytes(img.permute(1, 2, 0).numpy()))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

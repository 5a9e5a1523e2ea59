"""The hardened reader: untrusted zips and folders of images decoded under limits.

Untrusted input is expected (uploaded zips, odd folders): zips are read member by member and
never extracted, and every decode runs under limits. See `ZipLimits` and `decode_image`.
Every image is decoded with Pillow exactly once, converted to RGB and resized to the model's
size; the result is packed as (N, 3, H, W) uint8 and never touches PIL again.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import warnings
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

from ..i18n import _, number
from .imageset import DataError, ImageSet, Progress, pack

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
# Only these decoders are ever asked to parse bytes: the common, well-fuzzed formats.
PIL_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MAX_PIXELS = 40_000_000  # a 6k x 6k photo; anything bigger is refused as a decompression bomb


@dataclass(frozen=True)
class ZipLimits:
    """Caps that keep a hostile zip (bomb, traversal, millions of members) harmless."""

    max_members: int = 200_000  # Anime Faces has 63,632; ten times the largest real use
    max_member_bytes: int = 50_000_000  # one uncompressed image; a 6k x 6k PNG fits
    max_total_bytes: int = 4_000_000_000  # everything uncompressed together
    max_ratio: float = 200.0  # uncompressed / compressed; real PNG/JPEG sit near 1


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way a person would expect to see it."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit greyscale (PNG opens it as I;16, older Pillows as I): 0..65535 maps to
        # 0..255. A plain convert("L") clips every value above 255 to white, and stretching
        # min..max would turn a flat mid-grey picture black. Float images are taken as 0..255.
        arr = np.asarray(img, dtype=np.float64)
        scale = 1.0 if img.mode == "F" else 255.0 / 65535.0
        arr = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    if "transparency" in img.info and img.mode in ("1", "L", "RGB", "P"):
        # A tRNS colour key or transparent palette index: Pillow turns it into alpha here,
        # so keyed-out pixels land on white below instead of showing their hidden colour.
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent sprites go on white, as d2l's Pokemon sprites are shown.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")  # P, 1, L and CMYK (Pillow undoes Adobe's inverted CMYK)


class _RefusedError(ValueError):
    """A refusal decode_image words itself (passed through, never re-wrapped)."""


def decode_image(data: bytes, size: int) -> np.ndarray:
    """Decode bytes to a (size, size, 3) uint8 array; raises ValueError with a short reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as img:
                w, h = img.size
                # Checked here as well as by Pillow: warning filters are process-wide and not
                # thread-safe, and a host app may raise or clear Image.MAX_IMAGE_PIXELS.
                if w * h > MAX_PIXELS:
                    raise _RefusedError(f"decompression bomb refused ({w}x{h} pixels)")
                if w < 1 or h < 1:
                    raise _RefusedError("empty image")
                img.load()
                rgb = to_rgb(img)
                if rgb.size != (size, size):
                    # The chapter's Resize((64, 64)): stretch, no crop.
                    rgb = rgb.resize((size, size), Image.BICUBIC)
                arr = np.asarray(rgb, dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValueError("decompression bomb refused") from e
    except Image.UnidentifiedImageError as e:
        raise ValueError("corrupt or unsupported image (not PNG, JPEG, GIF, BMP or WebP)") from e
    except _RefusedError:
        raise
    except (OSError, SyntaxError, EOFError, ValueError) as e:
        raise ValueError("truncated or corrupt image") from e
    except MemoryError as e:
        raise ValueError("image too large to decode") from e
    except Exception as e:  # hostile bytes can trip any decoder path (struct, index, key...)
        raise ValueError(f"corrupt image ({type(e).__name__} in the decoder)") from e
    if arr.shape != (size, size, 3):
        raise ValueError("corrupt image (decoded to an unexpected shape)")
    return arr


ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never half an image
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def decode_all(
    items: list[tuple[str, Callable[[], bytes]]], size: int, progress: Progress | None
) -> tuple[np.ndarray, list[str], list[tuple[str, str]]]:
    """Decode (name, read) pairs in parallel, in source order: (arrays, names, skipped).

    When progress raises (a job being stopped), the pending decodes are cancelled.
    """

    def work(item):
        name, read = item
        try:
            return decode_image(read(), size), None
        except ValueError as e:
            return None, str(e)

    arrays, names, skipped = [], [], []
    workers = min(4, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(workers)
    try:
        for i, (arr, err) in enumerate(pool.map(work, items, chunksize=64)):
            name = items[i][0]
            if err is None:
                arrays.append(arr)
                names.append(name)
            else:
                skipped.append((name, err))
            if progress and (i % 256 == 0 or i == len(items) - 1):
                progress(i + 1, len(items))
    finally:
        # cancel_futures: a cancelled load must not go on decoding 60k images in the dark
        pool.shutdown(wait=True, cancel_futures=True)
    stacked = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
    return stacked, names, skipped


def _is_image_name(name: str) -> bool:
    base = Path(name).name
    return Path(name).suffix.lower() in IMAGE_SUFFIXES and not base.startswith(".")


def _unsafe_member_name(name: str) -> bool:
    """True for names that would land outside a folder if anyone ever extracted them."""
    norm = name.replace("\\", "/")  # Windows-made zips: '..\\..\\x' climbs there too
    parts = norm.split("/")
    return (
        norm.startswith("/")
        or ".." in parts
        or ":" in name  # drive letters (C:) and NTFS streams
        or "\x00" in name
    )


def _announced_members(path: Path) -> int | None:
    """Members the end-of-central-directory record announces, read before parsing any."""
    try:
        with open(path, "rb") as f:
            end = zipfile._EndRecData(f)  # the parser ZipFile itself uses; private but stable
        return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else None
    except Exception:
        return None  # ZipFile below gives the real error


def too_many_members(path, n: int, limit: int) -> str:
    """The refusal of a zip with more members than the limit, in the reader's language."""
    return _(
        "{path} has {n} members; the limit is {limit}. Split the archive or use a folder."
    ).format(path=path, n=n, limit=limit)


# Errors zipfile and zlib raise for a damaged, encrypted or exotic member.
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError)


def read_zip(
    path: Path, size: int, progress: Progress | None = None, limits: ZipLimits = ZipLimits()
) -> ImageSet:
    """Decode every image member of a zip in name order, without ever extracting it."""
    path = Path(path)
    # Checked before ZipFile parses the directory: a million stub entries cost real memory.
    announced = _announced_members(path)
    if announced is not None and announced > limits.max_members:
        raise DataError(too_many_members(path, announced, limits.max_members))
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(
            _("{path} is not a readable zip file ({error}).").format(path=path, error=e)
        ) from e
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise DataError(too_many_members(path, len(infos), limits.max_members))
        skipped: list[tuple[str, str]] = []
        members = []
        total = 0
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            p = Path(name.replace("\\", "/"))
            if _unsafe_member_name(name):
                skipped.append((name, "unsafe path in zip (absolute or '..')"))
                continue
            if "__MACOSX" in p.parts or not _is_image_name(name):
                skipped.append((name, "not an image file"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                skipped.append((name, "symbolic link in zip, not followed"))
                continue
            if info.flag_bits & 0x1:
                skipped.append((name, "encrypted member (no password support)"))
                continue
            if info.file_size > limits.max_member_bytes:
                skipped.append((name, "member too large uncompressed"))
                continue
            if info.file_size > limits.max_ratio * max(info.compress_size, 1) + 1024:
                skipped.append((name, "compression ratio too high (zip bomb?)"))
                continue
            total += info.file_size
            if total > limits.max_total_bytes:
                raise DataError(
                    _(
                        "{path} unpacks to more than {limit} bytes; refusing it as a possible "
                        "zip bomb."
                    ).format(path=path, limit=number(limits.max_total_bytes))
                )
            members.append(info)
        members.sort(key=lambda i: i.filename)
        lock = threading.Lock()

        def reader(info):
            def read():
                # ZipFile reads share one file handle; the lock keeps reads whole. zipfile
                # stops at the declared size and checks the CRC, so a member lying about its
                # size ends as a CRC error here, never as unbounded output.
                try:
                    with lock, zf.open(info) as f:
                        data = f.read(limits.max_member_bytes + 1)
                except _MEMBER_ERRORS as e:
                    raise ValueError(f"corrupt zip member ({type(e).__name__})") from e
                except NotImplementedError as e:
                    raise ValueError("unsupported zip compression method") from e
                if len(data) > limits.max_member_bytes:
                    raise ValueError("member too large uncompressed")
                return data

            return read

        items = [(i.filename, reader(i)) for i in members]
        arrays, names, bad = decode_all(items, size, progress)
    return pack(arrays, names, skipped + bad, str(path))


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """Read a regular file of at most max_bytes; ValueError otherwise (never blocks on a FIFO)."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError as e:
        raise ValueError(f"unreadable file ({e.strerror})") from e
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_size > max_bytes:
            raise ValueError("file too large")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError("file too large")
    return data


def read_folder(
    path: Path, size: int, progress: Progress | None = None, limits: ZipLimits = ZipLimits()
) -> ImageSet:
    """Decode every image below a folder, in sorted path order; symlinks are not followed.

    The zip caps apply here too: file count, size of each file, and their total.
    """
    path = Path(path)
    files, skipped = [], []
    total = 0
    for root, dirs, fnames in os.walk(path, followlinks=False):
        dirs.sort()
        for f in sorted(fnames):
            full = Path(root) / f
            rel = str(full.relative_to(path))
            try:
                st = full.lstat()
            except OSError:
                skipped.append((rel, "unreadable file"))
                continue
            if stat.S_ISLNK(st.st_mode):
                skipped.append((rel, "symbolic link not followed"))
            elif not _is_image_name(f):
                skipped.append((rel, "not an image file"))
            elif not stat.S_ISREG(st.st_mode):
                skipped.append((rel, "not a regular file (pipe, socket or device)"))
            elif st.st_size > limits.max_member_bytes:
                skipped.append((rel, "file too large"))
            else:
                files.append((rel, full))
                total += st.st_size
            if len(files) + len(skipped) > limits.max_members:
                raise DataError(
                    _("{path} holds more than {limit} files; point at a smaller folder.").format(
                        path=path, limit=limits.max_members
                    )
                )
            if total > limits.max_total_bytes:
                raise DataError(
                    _(
                        "{path} holds more than {limit} bytes of images; point at a smaller folder."
                    ).format(path=path, limit=number(limits.max_total_bytes))
                )
    files.sort(key=lambda t: t[0])
    cap = limits.max_member_bytes
    items = [(rel, lambda full=full: _read_regular(full, cap)) for rel, full in files]
    arrays, names, bad = decode_all(items, size, progress)
    return pack(arrays, names, skipped + bad, str(path))


def read_images(path: Path | str, size: int, progress: Progress | None = None) -> ImageSet:
    """Decode a folder (read_folder) or a zip (read_zip) of images."""
    path = Path(path)
    return read_folder(path, size, progress) if path.is_dir() else read_zip(path, size, progress)

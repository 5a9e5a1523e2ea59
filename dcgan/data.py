"""Dataset sources, decoded once into one uint8 tensor and cached on disk.

Sources: "shapes" (built in, deterministic, offline), "pokemon" (d2l's pokemon.zip, downloaded
and sha1-checked), "anime-faces", "fashion-mnist" (optionally filtered by class), or any path
to a folder or zip of images (ImageFolder layout or flat).

Every image is decoded with Pillow exactly once, converted to RGB, resized to the model's size
and stored as (N, 3, H, W) uint8. Training never touches PIL again: normalising to [-1, 1] and
the optional horizontal flip happen on the training device (see `to_model_range`).

Untrusted input is expected (uploaded zips, odd folders): zips are read member by member and
never extracted, and every decode runs under limits. See `ZipLimits` and `decode_image`.

    python -m dcgan.data SOURCE [--size 64] [--grid PATH]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import shutil
import stat
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFile, ImageOps

from .config import ConfigError

POKEMON_URL = "http://d2l-data.s3-accelerate.amazonaws.com/pokemon.zip"
POKEMON_SHA1 = "c065c0e2593b8b161a2d7873e42418bf6a21106c"
ANIME_FACES_HELP = (
    "The Anime Face dataset is on Kaggle (splcher/animefacedataset) and needs a Kaggle login, "
    "so it is not downloaded automatically. Download it, then set DCGAN_ANIME_FACES to the zip "
    "or folder, or put it at {path}."
)
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}
# Only these decoders are ever asked to parse bytes: the common, well-fuzzed formats.
PIL_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MAX_PIXELS = 40_000_000  # a 6k x 6k photo; anything bigger is refused as a decompression bomb
CACHE_VERSION = 2  # bump when decoding changes, so stale caches are not reused

Progress = Callable[[int, int], None]  # (done, total); total may be 0 when unknown


class DataError(ValueError):
    """A dataset could not be used; the message says why and what to do."""


@dataclass(frozen=True)
class ZipLimits:
    """Caps that keep a hostile zip (bomb, traversal, millions of members) harmless."""

    max_members: int = 200_000  # Anime Faces has 63,632; ten times the largest real use
    max_member_bytes: int = 50_000_000  # one uncompressed image; a 6k x 6k PNG fits
    max_total_bytes: int = 4_000_000_000  # everything uncompressed together
    max_ratio: float = 200.0  # uncompressed / compressed; real PNG/JPEG sit near 1


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


# --------------------------------------------------------------------------- locations


def data_dir() -> Path:
    """Cache folder: $DCGAN_DATA_DIR, else ./data beside the working directory."""
    return Path(os.environ.get("DCGAN_DATA_DIR", "data")).expanduser()


def allowed_roots() -> list[Path]:
    """Folders the UIs may read images from: $DCGAN_IMAGE_ROOTS (os.pathsep-separated),
    else the user's home and the data cache. The CLI, run by the machine's owner, is not limited."""
    env = os.environ.get("DCGAN_IMAGE_ROOTS")
    roots = [Path(p) for p in env.split(os.pathsep) if p] if env else [Path.home(), data_dir()]
    return [r.expanduser().resolve() for r in roots]


def check_path_allowed(source: str, extra_roots: tuple[Path, ...] = ()) -> None:
    """Refuse a path source outside the allowed roots, so a browser user cannot make the
    server read images from anywhere on its disk (named sources always pass)."""
    if source in NAMED_SOURCES:
        return
    target = Path(source).expanduser().resolve()
    roots = allowed_roots() + [Path(r).resolve() for r in extra_roots]
    if not any(target == r or r in target.parents for r in roots):
        raise DataError(
            f"{source} is outside the folders this app may read ("
            + ", ".join(str(r) for r in roots)
            + "). Move the images there, upload a zip, or set DCGAN_IMAGE_ROOTS on the server."
        )


def _sha1(path: Path, chunk: int = 1 << 20) -> str:
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
    if dest.exists() and (sha1 is None or _sha1(dest) == sha1):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("http", "https", "file"):
        raise DataError(f"cannot download {url!r}: only http, https and file URLs are supported.")
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
                f"checksum mismatch for {url}: expected sha1 {sha1}, got {h.hexdigest()}. "
                "The file was discarded; check the URL (or DCGAN_POKEMON_SHA1) and try again."
            )
        os.replace(tmp, dest)
    except OSError as e:
        raise DataError(
            f"could not download {url}: {e}. Check the network, or set DCGAN_POKEMON_URL "
            "to a local copy (file:///path/to/pokemon.zip)."
        ) from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


# --------------------------------------------------------------------------- decoding


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


class _Refused(ValueError):
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
                    raise _Refused(f"decompression bomb refused ({w}x{h} pixels)")
                if w < 1 or h < 1:
                    raise _Refused("empty image")
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
    except _Refused:
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


def _decode_all(
    items: list[tuple[str, Callable[[], bytes]]], size: int, progress: Progress | None
) -> tuple[np.ndarray, list[str], list[tuple[str, str]], list[int]]:
    """Decode (name, read) pairs in parallel, keeping source order; returns kept indices too.

    When progress raises (a job being stopped), the pending decodes are cancelled.
    """

    def work(item):
        name, read = item
        try:
            return decode_image(read(), size), None
        except ValueError as e:
            return None, str(e)

    arrays, names, skipped, kept = [], [], [], []
    workers = min(4, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(workers)
    try:
        for i, (arr, err) in enumerate(pool.map(work, items, chunksize=64)):
            name = items[i][0]
            if err is None:
                arrays.append(arr)
                names.append(name)
                kept.append(i)
            else:
                skipped.append((name, err))
            if progress and (i % 256 == 0 or i == len(items) - 1):
                progress(i + 1, len(items))
    finally:
        # cancel_futures: a cancelled load must not go on decoding 60k images in the dark
        pool.shutdown(wait=True, cancel_futures=True)
    stacked = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
    return stacked, names, skipped, kept


def _class_of(name: str) -> str:
    """ImageFolder class: the image's parent folder name ('' when flat)."""
    parts = Path(name).parts
    return parts[-2] if len(parts) >= 2 else ""


def _finish(arrays, names, skipped, source) -> ImageSet:
    """Pack decoded arrays into an ImageSet with ImageFolder-style labels."""
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
        raise DataError(
            f"{path} has {announced} members; the limit is {limits.max_members}. "
            "Split the archive or use a folder."
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(f"{path} is not a readable zip file ({e}).") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise DataError(
                f"{path} has {len(infos)} members; the limit is {limits.max_members}. "
                "Split the archive or use a folder."
            )
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
                    f"{path} unpacks to more than {limits.max_total_bytes:,} bytes; "
                    "refusing it as a possible zip bomb."
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
        arrays, names, bad, _ = _decode_all(items, size, progress)
    return _finish(arrays, names, skipped + bad, str(path))


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
                    f"{path} holds more than {limits.max_members} files; point at a smaller folder."
                )
            if total > limits.max_total_bytes:
                raise DataError(
                    f"{path} holds more than {limits.max_total_bytes:,} bytes of images; "
                    "point at a smaller folder."
                )
    files.sort(key=lambda t: t[0])
    cap = limits.max_member_bytes
    items = [(rel, lambda full=full: _read_regular(full, cap)) for rel, full in files]
    arrays, names, bad, _ = _decode_all(items, size, progress)
    return _finish(arrays, names, skipped + bad, str(path))


# --------------------------------------------------------------------------- shapes

SHAPE_KINDS = ("circle", "square", "triangle")
SHAPE_COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
}
SHAPE_SIZES = ("small", "large")
SHAPES_COUNT = 4096  # enough for a DCGAN to fit, small enough to generate in about a second


def make_shapes(size: int, n: int = SHAPES_COUNT, seed: int = 0) -> ImageSet:
    """Deterministic coloured shapes on white whose attributes are known for each image."""
    rng = np.random.default_rng(seed)
    scale = 4  # draw big, then shrink: antialiased edges without extra dependencies
    big = size * scale
    arrays, attrs = [], []
    colours = list(SHAPE_COLOURS)
    for _ in range(n):
        kind = SHAPE_KINDS[rng.integers(len(SHAPE_KINDS))]
        colour = colours[rng.integers(len(colours))]
        sz = SHAPE_SIZES[rng.integers(len(SHAPE_SIZES))]
        r = big * (0.16 if sz == "small" else 0.3)
        cx = rng.uniform(r + big * 0.04, big - r - big * 0.04)
        cy = rng.uniform(r + big * 0.04, big - r - big * 0.04)
        img = Image.new("RGB", (big, big), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        fill = SHAPE_COLOURS[colour]
        if kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif kind == "square":
            s = r * 0.89  # equal area to the circle, roughly
            draw.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill)
        else:
            draw.polygon(
                [(cx, cy - r), (cx - r * 0.95, cy + r * 0.75), (cx + r * 0.95, cy + r * 0.75)],
                fill=fill,
            )
        arrays.append(np.asarray(img.resize((size, size), Image.BOX), dtype=np.uint8))
        attrs.append(
            {
                "shape": kind,
                "colour": colour,
                "size": sz,
                "x": round(cx / big, 4),
                "y": round(cy / big, 4),
            }
        )
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([SHAPE_KINDS.index(a["shape"]) for a in attrs])
    return ImageSet(
        images=images,
        source="shapes",
        names=[f"shape_{i:05d}" for i in range(n)],
        labels=labels,
        class_names=list(SHAPE_KINDS),
        attributes=attrs,
    )


# --------------------------------------------------------------------------- named sources


def _fashion_mnist(size: int, progress: Progress | None) -> ImageSet:
    """Fashion-MNIST train split; $DCGAN_FASHION_MNIST_DIR may hold the four .gz files."""
    import torchvision

    root = data_dir() / "fashion-mnist"
    raw = root / "FashionMNIST" / "raw"
    local = os.environ.get("DCGAN_FASHION_MNIST_DIR")
    if local:
        raw.mkdir(parents=True, exist_ok=True)
        for gz in Path(local).glob("*-ubyte.gz"):
            out = raw / gz.name[:-3]
            if not out.exists():
                with gzip.open(gz) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    try:
        ds = torchvision.datasets.FashionMNIST(root=str(root), train=True, download=not local)
    except Exception as e:  # torchvision raises RuntimeError/URLError alike
        raise DataError(
            f"could not load Fashion-MNIST into {root}: {e}. Check the network, or set "
            "DCGAN_FASHION_MNIST_DIR to a folder holding the four idx .gz files."
        ) from e
    x = ds.data.unsqueeze(1).float()  # (N, 1, 28, 28)
    chunks = []
    for i in range(0, len(x), 4096):
        part = torch.nn.functional.interpolate(
            x[i : i + 4096], size=(size, size), mode="bilinear", antialias=True
        )
        chunks.append(part.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1))
        if progress:
            progress(min(i + 4096, len(x)), len(x))
    images = torch.cat(chunks).contiguous()
    return ImageSet(
        images=images,
        source="fashion-mnist",
        names=[f"train_{i:05d}" for i in range(len(images))],
        labels=ds.targets.clone(),
        class_names=list(FASHION_CLASSES),
    )


def _pokemon_zip(progress: Progress | None = None) -> Path:
    """Download (or reuse) pokemon.zip in the cache, honouring the env overrides."""
    url = os.environ.get("DCGAN_POKEMON_URL", POKEMON_URL)
    sha1 = os.environ.get("DCGAN_POKEMON_SHA1", POKEMON_SHA1)
    return download(url, data_dir() / "pokemon.zip", sha1=sha1, progress=progress)


def _anime_faces_path() -> Path:
    """Locate the anime faces zip or folder; raises a DataError explaining how to get it."""
    env = os.environ.get("DCGAN_ANIME_FACES")
    candidates = [Path(env)] if env else []
    candidates += [data_dir() / "anime_faces_64.zip", data_dir() / "anime_faces"]
    for c in candidates:
        if c.exists():
            return c
    raise DataError(ANIME_FACES_HELP.format(path=data_dir() / "anime_faces_64.zip"))


NAMED_SOURCES = ("shapes", "pokemon", "anime-faces", "fashion-mnist")


def _source_key(source: str, size: int) -> tuple[str, str]:
    """A cache key naming the source's identity (path, size on disk, mtime) and image size."""
    if source in ("shapes", "fashion-mnist"):
        ident = source
    else:
        p = Path(source)
        st = p.stat()
        ident = f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    digest = hashlib.sha1(f"v{CACHE_VERSION}|{ident}|{size}".encode()).hexdigest()[:16]
    slug = "".join(ch if ch.isalnum() else "-" for ch in Path(source).name)[:40]
    return f"{slug}-{size}-{digest}", ident


def _cache_load(key: str) -> ImageSet | None:
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


def _cache_save(key: str, s: ImageSet) -> None:
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


def load(
    source: str,
    size: int = 64,
    classes: tuple[int, ...] | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    cache: bool = True,
) -> ImageSet:
    """Load a named source or a folder/zip path as an ImageSet of size x size RGB images."""
    if size < 8 or size > 512:
        raise DataError(f"image size {size} is out of range; use 8 to 512 (the models use 32-128).")
    if source == "pokemon":
        path = str(_pokemon_zip(progress))
    elif source == "anime-faces":
        path = str(_anime_faces_path())
    elif source in ("shapes", "fashion-mnist"):
        path = source
    else:
        p = Path(source).expanduser()
        if not p.exists():
            raise DataError(
                f"unknown dataset {source!r}: it is not one of {', '.join(NAMED_SOURCES)} "
                "and no such file or folder exists."
            )
        if not (p.is_dir() or p.is_file()):
            raise DataError(
                f"{source} is neither a folder nor a regular file (a pipe or device?); "
                "give a folder or a .zip of images."
            )
        if p.is_file() and not zipfile.is_zipfile(p):
            raise DataError(f"{source} is a file but not a zip; give a folder or a .zip of images.")
        path = str(p)

    key, _ = _source_key(path, size)
    s = _cache_load(key) if cache else None
    if s is None:
        if path == "shapes":
            s = make_shapes(size)
        elif path == "fashion-mnist":
            s = _fashion_mnist(size, progress)
        elif Path(path).is_dir():
            s = read_folder(Path(path), size, progress)
        else:
            s = read_zip(Path(path), size, progress)
        s.source = source
        if cache and len(s):
            _cache_save(key, s)
    s.source = source
    if classes is not None:
        if s.labels is None:
            raise DataError(f"{source} has no classes to filter; drop the class filter.")
        keep = torch.isin(s.labels, torch.tensor(list(classes)))
        idx = keep.nonzero().flatten().tolist()
        s = _subset(s, idx)
    if limit is not None:
        s = _subset(s, list(range(min(limit, len(s)))))
    if len(s) == 0:
        raise DataError(
            f"{source} holds no usable images ({len(s.skipped)} skipped: "
            f"{dict(s.skip_reasons())}). Give a folder or zip of PNG/JPEG images."
        )
    return s


def _subset(s: ImageSet, idx: list[int]) -> ImageSet:
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


# --------------------------------------------------------------------------- on device


def to_model_range(
    batch: torch.Tensor, flip: bool = False, generator: torch.Generator | None = None
) -> torch.Tensor:
    """uint8 (N,3,H,W) on any device -> float in [-1, 1], optionally flipped left-right."""
    x = batch.float().mul_(2.0 / 255.0).sub_(1.0)
    if flip:
        mask = torch.rand(x.shape[0], 1, 1, 1, device=x.device, generator=generator) < 0.5
        x = torch.where(mask, x.flip(-1), x)
    return x


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """Print a dataset summary and optionally write the chapter's 4x5 grid of the first 20."""
    from .images import grid_image

    p = argparse.ArgumentParser(prog="python -m dcgan.data", description=__doc__.split("\n")[0])
    p.add_argument("source", help=f"one of {', '.join(NAMED_SOURCES)}, or a folder/zip path")
    p.add_argument("--size", type=int, default=64, help="resize images to SIZE x SIZE")
    p.add_argument("--classes", type=int, nargs="*", help="Fashion-MNIST class filter")
    p.add_argument("--grid", help="write the first 20 images as a 4x5 PNG grid here")
    a = p.parse_args(argv)
    try:
        s = load(a.source, a.size, classes=tuple(a.classes) if a.classes else None)
    except (DataError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(s.summary())
    if a.grid:
        grid_image(s.images[:20], nrow=5).save(a.grid)
        print(f"grid of the first {min(20, len(s))} images written to {a.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

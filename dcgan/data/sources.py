"""The dataset registry (SOURCES: shapes, pokemon, anime-faces, fashion-mnist) and which paths a
UI may read.

A named dataset is one Source entry, and the entry knows how to load itself: where its images
come from (built in, downloaded and sha1-checked, found on disk, fetched by torchvision), how
to decode them, its classes, and whether a Space visitor may train on it. The loader, the CLI,
the pages and the Space all read SOURCES, so adding a dataset is adding an entry at the bottom.
Any other source is a folder or zip path, which the UIs may only read inside the allowed roots.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..i18n import N_, _
from .cache import data_dir
from .decode import read_images
from .download import download
from .imageset import DataError, ImageSet, Progress
from .shapes import make_shapes

POKEMON_URL = "http://d2l-data.s3-accelerate.amazonaws.com/pokemon.zip"
POKEMON_SHA1 = "c065c0e2593b8b161a2d7873e42418bf6a21106c"
ANIME_FACES_FILE = "anime_faces_64.zip"  # the name looked for in the shared and data folders
ANIME_FACES_HELP = N_(
    "The Anime Face dataset is on Kaggle (splcher/animefacedataset) and needs a Kaggle login, "
    "so it is not downloaded automatically. Download it, then set DCGAN_ANIME_FACES to the zip "
    "or folder, or put it at {path}."
)
REPO_ROOT = Path(__file__).resolve().parents[2]
# English, as keys and file names use them (class_key); _() one to show it
FASHION_CLASSES = (
    N_("T-shirt/top"),
    N_("Trouser"),
    N_("Pullover"),
    N_("Dress"),
    N_("Coat"),
    N_("Sandal"),
    N_("Shirt"),
    N_("Sneaker"),
    N_("Bag"),
    N_("Ankle boot"),
)


def source_label(source: str, picker: bool = False) -> str:
    """A named source's label (its picker_label when picker) in the language of the moment;
    a path's file or folder name."""
    named = SOURCES.get(source)
    if named is None:
        return Path(source).name
    return named.picker_label if picker else _(named.label)


def allowed_roots() -> list[Path]:
    """Folders the UIs may read images from: $DCGAN_IMAGE_ROOTS (os.pathsep-separated),
    else the user's home and the data cache. The CLI, run by the machine's owner, is not limited."""
    env = os.environ.get("DCGAN_IMAGE_ROOTS")
    roots = [Path(p) for p in env.split(os.pathsep) if p] if env else [Path.home(), data_dir()]
    return [r.expanduser().resolve() for r in roots]


def check_path_allowed(source: str, extra_roots: tuple[Path, ...] = ()) -> None:
    """Refuse a path source outside the allowed roots, so a browser user cannot make the
    server read images from anywhere on its disk (named sources always pass)."""
    if source in SOURCES:
        return
    target = Path(source).expanduser().resolve()
    roots = allowed_roots() + [Path(r).resolve() for r in extra_roots]
    if not any(target == r or r in target.parents for r in roots):
        raise DataError(
            _(
                "{source} is outside the folders this app may read ({roots}). Move the images "
                "there, upload a zip, or set DCGAN_IMAGE_ROOTS on the server."
            ).format(source=source, roots=", ".join(str(r) for r in roots))
        )


def fashion_mnist(size: int, progress: Progress | None) -> ImageSet:
    """Fashion-MNIST train split from $DCGAN_FASHION_MNIST_DIR's four .gz files, else the shared
    folder's (find_fashion_mnist), else torchvision's download."""
    import torchvision

    root = data_dir() / "fashion-mnist"
    raw = root / "FashionMNIST" / "raw"
    local = os.environ.get("DCGAN_FASHION_MNIST_DIR") or find_fashion_mnist()
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
            _(
                "could not load Fashion-MNIST into {root}: {error}. Check the network, or set "
                "DCGAN_FASHION_MNIST_DIR to a folder holding the four idx .gz files."
            ).format(root=root, error=e)
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


def pokemon_zip(progress: Progress | None = None) -> Path:
    """Download (or reuse) pokemon.zip in the cache, honouring the env overrides."""
    url = os.environ.get("DCGAN_POKEMON_URL", POKEMON_URL)
    sha1 = os.environ.get("DCGAN_POKEMON_SHA1", POKEMON_SHA1)
    return download(url, data_dir() / "pokemon.zip", sha1=sha1, progress=progress)


def shared_data_dir() -> Path:
    """The read-only folder of real datasets: $DCGAN_SHARED_DATA, else ../shared/data beside
    the repo (where the course machines keep them)."""
    env = os.environ.get("DCGAN_SHARED_DATA")
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"


def find_fashion_mnist() -> str | None:
    """shared_data_dir()/fashion-mnist when it holds the four idx .gz files (no download)."""
    folder = shared_data_dir() / "fashion-mnist"
    return str(folder) if len(list(folder.glob("*-ubyte.gz"))) >= 4 else None


def find_anime_faces() -> Path | None:
    """The anime faces zip or folder, by the one rule the loader, the bench and the UIs share.

    $DCGAN_ANIME_FACES when set (and then only it, so a wrong path is reported, not bypassed);
    else shared_data_dir()/anime_faces_64.zip; else the data cache's anime_faces_64.zip or
    anime_faces/ folder. None when there is no copy.
    """
    env = os.environ.get("DCGAN_ANIME_FACES")
    if env:
        path = Path(env).expanduser()
        return path if path.exists() else None
    for path in (
        shared_data_dir() / ANIME_FACES_FILE,
        data_dir() / ANIME_FACES_FILE,
        data_dir() / "anime_faces",
    ):
        if path.exists():
            return path
    return None


def anime_faces_path() -> Path:
    """find_anime_faces(), or a DataError explaining how to get the dataset."""
    found = find_anime_faces()
    if found is not None:
        return found
    env = os.environ.get("DCGAN_ANIME_FACES")
    if env:
        raise DataError(
            _(
                "DCGAN_ANIME_FACES={path} does not exist; point it at the anime faces zip or "
                "folder, or unset it to use the shared or data folder."
            ).format(path=env)
        )
    raise DataError(_(ANIME_FACES_HELP).format(path=shared_data_dir() / ANIME_FACES_FILE))


def fashion_in_space() -> bool:
    """Fashion-MNIST (MIT licence, so a Space may carry it) when its four .gz files are here
    (DCGAN_FASHION_MNIST_DIR, which `make space` fills): a visitor's run never downloads."""
    folder = os.environ.get("DCGAN_FASHION_MNIST_DIR")
    return bool(folder) and len(list(Path(folder).glob("*-ubyte.gz"))) >= 4


def _never() -> bool:
    """A Space visitor may not train on it: it needs a login, or its licence forbids copies."""
    return False


@dataclass(frozen=True)
class Source:
    """A named dataset: how every UI shows it and how it loads. The one registry is SOURCES."""

    name: str  # what configs, checkpoints and the CLI call it
    # label and description are English msgids (marked N_): _() them, or read shown_label
    # and shown_description, to show them
    label: str  # what a picker shows
    offline: bool  # True when it never needs the network (built in, or a local copy)
    description: str  # one line: where the images come from and how to get them offline
    # what the decoded cache is keyed on: a Path on disk (keyed by its size and mtime, fetched
    # first when it must be) or a name for images made or fetched in read
    locate: Callable[[Progress | None], Path | str]
    # locate()'s answer -> the images at size x size; a folder or zip unless it says otherwise
    read: Callable[[Path | str, int, Progress | None], ImageSet] = read_images
    classes: tuple[str, ...] = ()  # class names, by label index, that a run may filter on
    in_space: Callable[[], bool] = _never  # may a Space visitor's live run use it here?

    @property
    def shown_label(self) -> str:
        """The label in the language of the moment."""
        return _(self.label)

    @property
    def shown_description(self) -> str:
        """The description in the language of the moment."""
        return _(self.description)

    @property
    def picker_label(self) -> str:
        """The label with what it costs to use, e.g. 'Pokemon (d2l) · downloads once', in the
        language of the moment."""
        cost = _("offline") if self.offline else _("downloads once")
        return _("{label} · {cost}").format(label=_(self.label), cost=cost)


# name -> Source, in menu order: every list of datasets in the app, the CLI and the Space
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "shapes",
            label=N_("Built-in shapes"),
            offline=True,
            description=N_(
                "Coloured circles, squares and triangles drawn here, with known attributes; "
                "no download, so it works anywhere."
            ),
            locate=lambda progress: "shapes",
            read=lambda _where, size, progress: make_shapes(size),
            in_space=lambda: True,  # drawn here: nothing to download or license
        ),
        Source(
            "pokemon",
            label="Pokemon (d2l)",  # a name every language keeps
            offline=False,
            description=N_(
                "The chapter's sprites, downloaded once from d2l.ai (about 70 MB) with a sha1 "
                "check. Offline, set DCGAN_POKEMON_URL to a local copy "
                "(file:///path/to/pokemon.zip)."
            ),
            locate=pokemon_zip,
        ),
        Source(
            "anime-faces",
            label=N_("Anime faces"),
            offline=True,
            description=N_(
                "Faces from Kaggle, which needs a login, so never downloaded: set "
                "DCGAN_ANIME_FACES to its zip or folder, or put anime_faces_64.zip in the shared "
                "or data folder."
            ),
            locate=lambda progress: anime_faces_path(),
        ),
        Source(
            "fashion-mnist",
            label="Fashion-MNIST",  # a name every language keeps
            offline=False,
            description=N_(
                "Ten classes of 28x28 clothing photos, downloaded once by torchvision. Offline, "
                "set DCGAN_FASHION_MNIST_DIR to a folder holding its four .gz files."
            ),
            locate=lambda progress: "fashion-mnist",
            read=lambda _where, size, progress: fashion_mnist(size, progress),
            classes=FASHION_CLASSES,
            in_space=fashion_in_space,
        ),
    )
}

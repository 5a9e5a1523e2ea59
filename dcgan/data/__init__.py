"""Dataset sources, decoded once into one uint8 tensor and cached on disk.

Sources: the registry SOURCES ("shapes", built in, deterministic, offline; "pokemon", d2l's
pokemon.zip, downloaded and sha1-checked; "anime-faces"; "fashion-mnist", optionally filtered
by class), or any path to a folder or zip of images (ImageFolder layout or flat).

Every image is decoded with Pillow exactly once, converted to RGB, resized to the model's size
and stored as (N, 3, H, W) uint8. Training never touches PIL again: normalising to [-1, 1] and
the optional horizontal flip happen on the training device (see `to_model_range`).

The modules, one job each:
  imageset  the ImageSet every source returns, DataError, the progress callback type
  sources   the registry of named sources (Source: how each loads) and which paths a UI may read
  download  downloads that land whole or not at all (sha1-checked)
  decode    the hardened reader: zips and folders of untrusted images under limits
  shapes    the built-in shapes dataset
  cache     the decoded cache under $DCGAN_DATA_DIR
  loader    `load` (any source -> ImageSet, through the cache) and `to_model_range`
  cli       `python -m dcgan.data SOURCE [--size 64] [--grid PATH]`

Callers import from here (`from dcgan.data import load`); to replace a function in a test,
patch it in the module that calls it (e.g. `dcgan.data.decode.decode_image`).
"""

from .cache import CACHE_VERSION, data_dir
from .cli import main
from .decode import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    PIL_FORMATS,
    ZipLimits,
    decode_image,
    read_folder,
    read_images,
    read_zip,
    to_rgb,
)
from .download import download, sha1_of
from .imageset import DataError, ImageSet, Progress
from .loader import load, to_model_range
from .shapes import SHAPE_COLOURS, SHAPE_KINDS, SHAPE_SIZES, SHAPES_COUNT, make_shapes
from .sources import (
    ANIME_FACES_HELP,
    FASHION_CLASSES,
    POKEMON_SHA1,
    POKEMON_URL,
    SOURCES,
    Source,
    allowed_roots,
    check_path_allowed,
    find_anime_faces,
    shared_data_dir,
    source_label,
)

__all__ = [
    "ANIME_FACES_HELP",
    "CACHE_VERSION",
    "FASHION_CLASSES",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "PIL_FORMATS",
    "POKEMON_SHA1",
    "POKEMON_URL",
    "SHAPES_COUNT",
    "SHAPE_COLOURS",
    "SHAPE_KINDS",
    "SHAPE_SIZES",
    "SOURCES",
    "DataError",
    "ImageSet",
    "Progress",
    "Source",
    "ZipLimits",
    "allowed_roots",
    "check_path_allowed",
    "data_dir",
    "decode_image",
    "download",
    "find_anime_faces",
    "load",
    "main",
    "make_shapes",
    "read_folder",
    "read_images",
    "read_zip",
    "sha1_of",
    "shared_data_dir",
    "source_label",
    "to_model_range",
    "to_rgb",
]

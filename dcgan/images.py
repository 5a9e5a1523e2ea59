"""Image grids, PNG/GIF encoding and tensor<->picture conversion, shared by every UI."""

from __future__ import annotations

import functools
import io
import math

import numpy as np
import torch
from PIL import Image

from .i18n import _, current, font_path


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) in [-1, 1] (float) or already uint8 -> uint8 on the CPU."""
    images = images.detach()
    if images.dtype == torch.uint8:
        return images.cpu()
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N,3,H,W) images into one (H', W', 3) uint8 array on a white background."""
    x = to_uint8(images)
    n, c, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol_rows = max(1, math.ceil(n / nrow))
    out = np.full((ncol_rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    arr = x.permute(0, 2, 3, 1).numpy()
    if c == 1:
        arr = np.repeat(arr, 3, axis=-1)
    for i in range(n):
        r, col = divmod(i, nrow)
        y0, x0 = pad + r * (h + pad), pad + col * (w + pad)
        out[y0 : y0 + h, x0 : x0 + w] = arr[i]
    return out


def grid_image(images: torch.Tensor, nrow: int | None = None, scale: int = 1) -> Image.Image:
    """A PIL grid of images, optionally upscaled with nearest-neighbour for projectors."""
    img = Image.fromarray(grid_array(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def upscale(arr: np.ndarray, target: int = 480) -> np.ndarray:
    """Nearest-neighbour upscale of an (H, W, 3) array to about `target` px wide: crisp pixels
    on a projector, where a browser's smooth scaling would blur a 32 px sample."""
    k = max(1, target // arr.shape[1])
    return arr.repeat(k, 0).repeat(k, 1)


def png_bytes(img: Image.Image | np.ndarray) -> bytes:
    """Encode a picture as PNG bytes for download buttons."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png_array(data: bytes) -> np.ndarray:
    """Decode PNG bytes (a run's grid) into an (H, W, 3) uint8 array."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def gif_bytes(frames: list[np.ndarray], ms_per_frame: int = 200, scale: int = 1) -> bytes:
    """Encode (H,W,3) uint8 frames as a looping animated GIF with one shared palette.

    PIL's default builds a median-cut palette for every frame, which took 1.1 s for a 48-frame
    latent walk; one fast-octree palette from a montage of up to 16 frames, applied without
    dithering, takes about 0.05 s and looks the same (bench/generate_latency.py times it)."""
    if not frames:
        raise ValueError(_("no frames to encode; train for a few steps first."))
    step = max(1, len(frames) // 16)
    montage = Image.fromarray(np.concatenate([f for f in frames[::step]], axis=0))
    palette = montage.quantize(256, method=Image.Quantize.FASTOCTREE)
    pics = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    if scale > 1:
        pics = [p.resize((p.width * scale, p.height * scale), Image.NEAREST) for p in pics]
    buf = io.BytesIO()
    pics[0].save(
        buf, format="GIF", save_all=True, append_images=pics[1:], duration=ms_per_frame, loop=0
    )
    return buf.getvalue()


def numbered_grid_image(images: torch.Tensor, nrow: int | None = None, scale: int = 2):
    """A grid (upscaled by `scale`) with each cell's index drawn in its corner, so a user can
    pick samples by number (the vector-arithmetic tools)."""
    from PIL import ImageDraw

    pad = 2
    n, __, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    img = grid_image(images, nrow=nrow, scale=scale)
    draw = ImageDraw.Draw(img)
    font = text_font(max(10, 6 * scale))
    for i in range(n):
        r, col = divmod(i, nrow)
        x0, y0 = (pad + col * (w + pad)) * scale, (pad + r * (h + pad)) * scale
        box = draw.textbbox((x0 + 2, y0 + 1), str(i), font=font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((x0 + 2, y0 + 1), str(i), fill=(255, 255, 255), font=font)
    return img


def text_font(size: int):
    """A font that draws the current language's script: Noto Sans CJK SC for Chinese (Pillow's
    default has no Han glyphs and would draw nothing), Pillow's own font elsewhere."""
    return _font(font_path(current()), size)


@functools.lru_cache(maxsize=8)
def _font(path: str | None, size: int):
    """The font at `path` (Pillow's own when None): parsed once, since a captioned GIF asks
    for it once a frame and the CJK font is a 16 MB file."""
    from PIL import ImageFont

    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def caption_band(img: Image.Image, text: str, size: int = 14) -> Image.Image:
    """`img` with a white strip below it holding `text` (a caption for an exported PNG or GIF
    frame, already in the reader's language), drawn in a font for that language's script."""
    from PIL import ImageDraw

    font = text_font(size)
    probe = ImageDraw.Draw(img)
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    margin = max(2, size // 3)
    band = bottom - top + 2 * margin
    out = Image.new("RGB", (max(img.width, right - left + 2 * margin), img.height + band), "white")
    out.paste(img.convert("RGB"), (0, 0))
    ImageDraw.Draw(out).text(
        (margin - left, img.height + margin - top), text, fill=(0, 0, 0), font=font
    )
    return out


def captioned_gif(frames: list[np.ndarray], captions: list[str], ms_per_frame: int = 200) -> bytes:
    """A GIF whose frames each carry their caption in a band below (e.g. the step, in the
    reader's language and script), padded with white to one size."""
    banded = [
        np.asarray(caption_band(Image.fromarray(f), c))
        for f, c in zip(frames, captions, strict=True)
    ]
    h = max(b.shape[0] for b in banded)
    w = max(b.shape[1] for b in banded)
    pad = [((0, h - b.shape[0]), (0, w - b.shape[1]), (0, 0)) for b in banded]
    padded = [np.pad(b, p, constant_values=255) for b, p in zip(banded, pad, strict=True)]
    return gif_bytes(padded, ms_per_frame)

"""Hostile uploads and paths: zips, image files and checkpoints a stranger might hand the app.

Every hostile file is built here, in the test; nothing comes from ../shared. What a user relies
on: nothing is written outside the app's folders, no input crashes a load (it is refused or
skipped and counted, with a reason), and odd-but-valid images come out as a person sees them.
"""

import io
import json
import os
import random
import resource
import struct
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import checkpoint as ckpt
from dcgan import data
from dcgan.config import ModelConfig, preset
from dcgan.data import DataError, ZipLimits, decode_image, load, read_zip
from dcgan.models import Generator
from tests.helpers import TRAIN_ONE_STEP

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: two spin-waiting OpenMP threads crawl on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png(colour=(255, 0, 0), size=(12, 12)) -> bytes:
    return encode(Image.new("RGB", size, colour))


def write_zip(path: Path, members, compression=zipfile.ZIP_DEFLATED) -> Path:
    """members: (name, bytes) pairs, written exactly as named."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, payload in members:
            zf.writestr(zipfile.ZipInfo(name), payload, compress_type=compression)
    return path


def reasons(s) -> dict:
    return dict(s.skip_reasons())


# ------------------------------------------------------------------ zips: paths


UNSAFE_NAMES = [
    "../evil.png",
    "/abs/evil.png",
    "faces/../../evil.png",
    "..\\..\\evil.png",
    "C:/evil.png",
    "C:\\Windows\\evil.png",
]


def test_zip_traversal_and_absolute_names_are_refused(tmp_path, monkeypatch):
    z = write_zip(
        tmp_path / "up.zip", [(n, png()) for n in UNSAFE_NAMES] + [("faces/ok.png", png())]
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a relative extract would land here
    s = load(str(z), size=8, cache=False)
    assert s.names == ["faces/ok.png"]
    assert reasons(s) == {"unsafe path in zip (absolute or '..')": len(UNSAFE_NAMES)}
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == ["up.zip", "work"], "a zip is never extracted anywhere"
    assert not Path("/abs/evil.png").exists()


def test_zip_is_never_extracted(monkeypatch, tmp_path):
    def refuse(*a, **k):
        raise AssertionError("extract/extractall called")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    z = write_zip(tmp_path / "ok.zip", [("a/1.png", png()), ("b/2.png", png((0, 0, 255)))])
    assert len(load(str(z), size=8, cache=False)) == 2


def test_zip_symlink_and_encrypted_members_are_skipped(tmp_path):
    z = tmp_path / "odd.zip"
    with zipfile.ZipFile(z, "w") as zf:
        link = zipfile.ZipInfo("faces/link.png")
        link.external_attr = (0o120777 << 16) | 0  # a symlink to /etc/passwd, Unix style
        zf.writestr(link, "/etc/passwd")
        zf.writestr("faces/ok.png", png())
    raw = bytearray(z.read_bytes())
    # mark the second member encrypted in its local header and central directory entry
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):
        at = raw.find(sig, raw.find(sig) + 1)
        flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
        raw[flag_at] |= 0x1
    z.write_bytes(bytes(raw))
    s = read_zip(z, 8)
    assert len(s) == 0
    assert reasons(s) == {
        "symbolic link in zip, not followed": 1,
        "encrypted member (no password support)": 1,
    }


# ------------------------------------------------------------------ zips: bombs


def test_zip_member_count_cap(tmp_path):
    z = write_zip(tmp_path / "many.zip", [(f"f/{i}.png", b"") for i in range(51)])
    with pytest.raises(DataError, match="51 members; the limit is 50"):
        read_zip(z, 8, limits=ZipLimits(max_members=50))
    assert len(read_zip(z, 8, limits=ZipLimits(max_members=51)).skipped) == 51


def test_zip_member_size_cap(tmp_path):
    big = encode(Image.effect_noise((700, 700), 60).convert("RGB"))  # ~1.4 MB, incompressible
    z = write_zip(tmp_path / "big.zip", [("big.png", big), ("small.png", png())])
    s = read_zip(z, 8, limits=ZipLimits(max_member_bytes=1_000_000))
    assert s.names == ["small.png"]
    assert reasons(s) == {"member too large uncompressed": 1}


def test_zip_total_size_cap(tmp_path):
    z = write_zip(tmp_path / "sum.zip", [(f"{i}.png", png()) for i in range(10)])
    one = len(png())
    with pytest.raises(DataError, match="unpacks to more than .* zip bomb"):
        read_zip(z, 8, limits=ZipLimits(max_total_bytes=5 * one))
    assert len(read_zip(z, 8, limits=ZipLimits(max_total_bytes=10 * one))) == 10


def test_zip_compression_ratio_cap(tmp_path):
    bomb = b"\x00" * 5_000_000  # deflates about 1000:1
    z = write_zip(tmp_path / "bomb.zip", [("bomb.png", bomb), ("ok.png", png())])
    s = read_zip(z, 8)
    assert s.names == ["ok.png"]
    assert reasons(s) == {"compression ratio too high (zip bomb?)": 1}


def _patch_declared_size(path: Path, member: str, new_size: int) -> None:
    """Make a member lie about its uncompressed size, in both headers."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    at = 0
    while (at := raw.find(name, at + 1)) != -1:
        if raw[at - 30 : at - 26] == b"PK\x03\x04":
            struct.pack_into("<I", raw, at - 30 + 22, new_size)
        elif raw[at - 46 : at - 42] == b"PK\x01\x02":
            struct.pack_into("<I", raw, at - 46 + 24, new_size)
    path.write_bytes(bytes(raw))


def test_zip_member_lying_about_its_size_is_bounded_and_skipped(tmp_path):
    # 3 MB of noise claims to be 200 bytes: the caps pass it, the read must stop at 200 bytes
    liar = encode(Image.effect_noise((1000, 1000), 60))
    z = write_zip(tmp_path / "liar.zip", [("liar.png", liar), ("ok.png", png())])
    _patch_declared_size(z, "liar.png", 200)
    s = read_zip(z, 8)
    assert s.names == ["ok.png"]
    assert reasons(s) == {"corrupt zip member (BadZipFile)": 1}


def test_zip_with_bad_crc_or_broken_deflate_is_skipped_not_a_crash(tmp_path):
    good = png((0, 200, 0), size=(40, 40))
    z = write_zip(tmp_path / "crc.zip", [("a.png", good), ("b.png", good), ("c.png", good)])
    raw = bytearray(z.read_bytes())
    at = raw.find(b"a.png") + len("a.png") + 8
    raw[at] ^= 0xFF  # flip a byte inside a.png's deflate stream
    at = raw.find(b"b.png") + len("b.png")
    raw[at : at + 6] = b"\xff" * 6  # b.png's stream starts with an invalid block type
    z.write_bytes(bytes(raw))
    s = read_zip(z, 8)
    assert s.names == ["c.png"] and len(s.skipped) == 2
    assert all(r.startswith("corrupt zip member") for _, r in s.skipped), s.skipped


def test_a_file_that_is_not_a_zip_and_a_device_are_refused(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataError, match="not a zip"):
        load(str(fake))
    with pytest.raises(DataError, match="neither a folder nor a regular file"):
        load("/dev/zero")


# ------------------------------------------------------------------ members that are not images


def test_non_image_members_are_skipped(tmp_path):
    z = write_zip(
        tmp_path / "mixed.zip",
        [
            ("faces/readme.txt", b"hello"),
            ("faces/run.py", b"import os"),
            ("faces/photo.tiff", encode(Image.new("RGB", (4, 4)), "TIFF")),
            ("__MACOSX/faces/._a.png", png()),
            ("faces/.hidden.png", png()),
            ("faces/a.png", png()),
        ],
    )
    s = load(str(z), size=8, cache=False)
    assert s.names == ["faces/a.png"]
    assert reasons(s) == {"not an image file": 5}


@pytest.mark.parametrize(
    "fmt, payload",
    [
        ("TIFF", lambda: encode(Image.new("RGB", (8, 8)), "TIFF")),
        ("ICO", lambda: encode(Image.new("RGB", (16, 16)), "ICO")),
        ("PPM", lambda: encode(Image.new("RGB", (8, 8)), "PPM")),
        ("TGA", lambda: encode(Image.new("RGB", (8, 8)), "TGA")),
        ("EPS", lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n"),
        ("PSD-like", lambda: b"8BPS\x00\x01" + b"\x00" * 40),
    ],
)
def test_formats_outside_the_list_are_refused_even_with_an_image_name(fmt, payload):
    # A .png name does not make Pillow's other decoders (Ghostscript for EPS, ...) reachable.
    with pytest.raises(ValueError, match="not PNG, JPEG, GIF, BMP or WebP"):
        decode_image(payload(), 8)


# ------------------------------------------------------------------ decompression bombs


def test_decompression_bomb_is_an_error_not_a_warning(monkeypatch):
    # 7000x7000 = 49M pixels: over our 40M limit, under Pillow's hard error at twice that
    bomb = encode(Image.new("1", (7000, 7000)))
    assert len(bomb) < 20_000
    with pytest.raises(ValueError, match="decompression bomb"):
        decode_image(bomb, 8)
    # still refused when a host app has switched Pillow's own limit off
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ValueError, match="decompression bomb"):
        decode_image(bomb, 8)


def test_decompression_bomb_in_a_folder_is_skipped_and_counted(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "bomb.png").write_bytes(encode(Image.new("1", (9000, 9000))))
    (tmp_path / "f" / "ok.png").write_bytes(png())
    s = load(str(tmp_path / "f"), size=8, cache=False)
    assert s.names == ["ok.png"]
    assert list(reasons(s)) == ["decompression bomb refused"]


# ------------------------------------------------------------------ truncated and corrupt


def test_truncated_and_corrupt_files_are_skipped_and_counted(tmp_path):
    photo = encode(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG", quality=90)
    picture = encode(Image.effect_noise((64, 64), 50).convert("RGB"))
    f = tmp_path / "f"
    f.mkdir()
    (f / "ok.png").write_bytes(png())
    (f / "cut.png").write_bytes(picture[: len(picture) // 2])
    (f / "cut.jpg").write_bytes(photo[: len(photo) // 2])
    (f / "empty.png").write_bytes(b"")
    (f / "noise.jpg").write_bytes(os.urandom(2000))
    (f / "header_only.gif").write_bytes(b"GIF89a\x10\x00\x10\x00")
    s = load(str(f), size=8, cache=False)
    assert s.names == ["ok.png"] and len(s.skipped) == 5
    r = reasons(s)
    assert r["truncated or corrupt image"] >= 2  # the two cut files at least
    assert sum(r.values()) == 5
    assert "images skipped: 5" in s.summary()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
def test_mutated_images_never_escape_as_anything_but_a_skip(fmt):
    """A small seeded fuzz: flipped, cut and spliced bytes decode or raise ValueError only."""
    base = Image.effect_noise((24, 16), 40).convert("P" if fmt == "GIF" else "RGB")
    good = encode(base, fmt)
    rng = random.Random(f"{fmt}-0")
    for _ in range(120):
        b = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        if rng.random() < 0.3:
            b = b[: rng.randrange(1, len(b))]
        if rng.random() < 0.2:
            at = rng.randrange(len(b))
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        try:
            out = decode_image(bytes(b), 8)
        except ValueError:
            continue
        assert out.shape == (8, 8, 3) and out.dtype == np.uint8


# ------------------------------------------------------------------ folders


def test_folder_skips_links_pipes_and_oversized_files(tmp_path):
    f = tmp_path / "f"
    f.mkdir()
    (f / "ok.png").write_bytes(png())
    (f / "secret.png").symlink_to("/etc/passwd")
    os.mkfifo(f / "pipe.png")  # reading it would block for ever
    (f / "huge.png").write_bytes(encode(Image.effect_noise((800, 800), 60)))
    result = {}
    t = threading.Thread(
        target=lambda: result.setdefault(
            "s", data.read_folder(f, 8, limits=ZipLimits(max_member_bytes=300_000))
        ),
        daemon=True,
    )
    t.start()
    t.join(30)
    assert "s" in result, "read_folder hung on a named pipe"
    s = result["s"]
    assert s.names == ["ok.png"]
    assert reasons(s) == {
        "symbolic link not followed": 1,
        "not a regular file (pipe, socket or device)": 1,
        "file too large": 1,
    }


def test_folder_file_count_cap(tmp_path):
    for i in range(12):
        (tmp_path / f"{i}.png").write_bytes(b"")
    with pytest.raises(DataError, match="more than 10 files"):
        data.read_folder(tmp_path, 8, limits=ZipLimits(max_members=10))


# ------------------------------------------------------------------ colour conversion


def decoded(img: Image.Image, fmt="PNG", size=None, **kw) -> np.ndarray:
    size = size or img.size[0]
    return decode_image(encode(img, fmt, **kw), size).astype(int)


def test_palette_without_transparency_keeps_its_colours():
    img = Image.new("P", (8, 8), 1)
    img.putpalette([0, 0, 0, 200, 30, 40] + [0] * 762)
    assert decoded(img)[0, 0].tolist() == [200, 30, 40]
    assert decoded(img, "GIF")[0, 0].tolist() == [200, 30, 40]
    assert decoded(img, "BMP")[0, 0].tolist() == [200, 30, 40]


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency_goes_on_white(fmt):
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 0, 10, 120, 250] + [0] * 762)
    img.paste(1, (4, 0, 8, 8))  # right half: opaque blue
    out = decoded(img, fmt, transparency=0)
    assert out[4, 1].tolist() == [255, 255, 255], "transparent black shows as white, not black"
    assert out[4, 6].tolist() == [10, 120, 250]


def test_rgba_composites_on_white():
    img = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    img.paste((0, 0, 255, 255), (4, 0, 8, 4))  # opaque blue
    img.paste((0, 0, 0, 128), (4, 4, 8, 8))  # half-transparent black
    out = decoded(img)
    assert out[1, 1].tolist() == [255, 255, 255]
    assert out[1, 6].tolist() == [0, 0, 255]
    assert all(abs(v - 127) <= 1 for v in out[6, 6])  # half way from white to black
    webp = decoded(img, "WEBP", lossless=True)
    assert webp[1, 1].tolist() == [255, 255, 255] and webp[1, 6].tolist() == [0, 0, 255]


def test_la_composites_on_white():
    img = Image.new("LA", (8, 8), (0, 0))
    img.paste((40, 255), (0, 0, 4, 8))
    out = decoded(img)
    assert out[2, 1].tolist() == [40, 40, 40] and out[2, 6].tolist() == [255, 255, 255]


def test_colour_key_transparency_in_grey_and_rgb_pngs_goes_on_white():
    grey = Image.new("L", (8, 8), 0)
    grey.paste(90, (4, 0, 8, 8))
    out = decoded(grey, transparency=0)
    assert out[0, 0].tolist() == [255, 255, 255] and out[0, 6].tolist() == [90, 90, 90]
    rgb = Image.new("RGB", (8, 8), (0, 255, 0))
    rgb.paste((200, 0, 0), (4, 0, 8, 8))
    out = decoded(rgb, transparency=(0, 255, 0))
    assert out[0, 0].tolist() == [255, 255, 255] and out[0, 6].tolist() == [200, 0, 0]


def test_16_bit_greyscale_is_not_white():
    mid = Image.fromarray(np.full((8, 8), 32768, np.uint16))
    assert mid.mode == "I;16"
    assert all(abs(v - 128) <= 1 for v in decoded(mid)[3, 3]), "mid-grey stays mid-grey"
    ramp = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    out = decoded(Image.fromarray(ramp))[:, :, 0].ravel()
    assert out[0] == 0 and out[-1] == 255
    assert (np.diff(out) >= 0).all() and len(set(out.tolist())) > 50


def test_32_bit_integer_greyscale_uses_the_16_bit_range():
    # older Pillows opened 16-bit PNGs as mode I; a flat image must not collapse to black
    img = Image.fromarray(np.full((8, 8), 65535 // 4, np.int32), mode="I")
    out = data.to_rgb(img)
    assert all(abs(v - 64) <= 1 for v in out.getpixel((2, 2)))


def test_cmyk_jpeg_becomes_the_right_rgb():
    img = Image.new("CMYK", (16, 16), (255, 0, 0, 0))  # pure cyan
    img.paste((0, 0, 0, 255), (8, 0, 16, 16))  # black ink
    out = decoded(img, "JPEG", quality=100)
    assert np.abs(out[8, 3] - [0, 255, 255]).max() <= 3
    assert np.abs(out[8, 12] - [0, 0, 0]).max() <= 3


@pytest.mark.parametrize("orientation, red_side", [(1, "top"), (3, "bottom"), (6, "right")])
def test_exif_orientation_is_applied(orientation, red_side):
    # stored upright: red on top, blue below; orientation 6 means "turn 90 degrees clockwise"
    img = Image.new("RGB", (32, 32), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 32, 16))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = decoded(img, "JPEG", exif=exif.tobytes(), quality=95)
    halves = {
        "top": out[:16].mean((0, 1)),
        "bottom": out[16:].mean((0, 1)),
        "left": out[:, :16].mean((0, 1)),
        "right": out[:, 16:].mean((0, 1)),
    }
    assert halves[red_side][0] > 200 and halves[red_side][2] < 60, halves


# ------------------------------------------------------------------ the CLIs


def test_data_cli_hostile_zip_is_a_clear_message(tmp_path, capsys):
    z = write_zip(
        tmp_path / "evil.zip",
        [("../../evil.png", png()), ("bomb.png", b"\x00" * 3_000_000), ("x.txt", b"x")],
    )
    assert data.main([str(z)]) == 2  # in-process: any exception would fail the test
    err = capsys.readouterr().err
    assert "no usable images" in err and "unsafe path" in err
    assert "compression ratio too high" in err
    assert not (tmp_path.parent / "evil.png").exists()


def test_data_cli_damaged_zip_and_device_are_clear(tmp_path, capsys):
    z = write_zip(tmp_path / "crc.zip", [("a.png", png(size=(40, 40)))])
    raw = bytearray(z.read_bytes())
    raw[raw.find(b"a.png") + 13] ^= 0xFF
    z.write_bytes(bytes(raw))
    for source, message in [(str(z), "corrupt zip member"), ("/dev/zero", "neither a folder")]:
        assert data.main([source]) == 2  # in-process: any exception would fail the test
        assert message in capsys.readouterr().err


def test_train_cli_hostile_dataset_is_a_clear_message(tmp_path, capsys):
    from dcgan import train

    z = write_zip(tmp_path / "evil.zip", [("/etc/evil.png", png()), ("a/../../b.png", png())])
    argv = [*TRAIN_ONE_STEP[1:], "--dataset", str(z), "--out", str(tmp_path / "run")]
    assert train.main(argv) == 2  # in-process: any exception would fail the test
    err = capsys.readouterr().err
    assert "no usable images" in err and "unsafe path" in err


def test_train_cli_hostile_checkpoint_and_out_folder_are_clear(tmp_path, capsys):
    from dcgan import train

    evil = tmp_path / "evil.pt"
    torch.save({"config": {}, "G": Evil()}, evil)
    base = ["--preset", "classroom-cpu", "--steps", "1", "--dataset", "shapes", "--limit", "64"]
    for extra, message in [
        (["--resume", str(evil), "--out", str(tmp_path)], "refused"),
        (["--out", str(evil / "run")], "cannot write checkpoints"),
    ]:
        assert train.main(base + extra) == 2, extra
        assert message in capsys.readouterr().err
    assert not (evil / "run").exists()


# ------------------------------------------------------------------ uploaded checkpoints


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/dcgan-pwned",))


@pytest.fixture(scope="module")
def small_state():
    cfg = preset("classroom-cpu").replace(**{"model.ngf": 8, "model.ndf": 8})
    G = Generator(cfg.model)
    return {"config": cfg.to_dict(), "G": G.state_dict(), "step": 3}


def test_pickle_carrying_code_is_refused_and_never_run(tmp_path):
    marker = Path("/tmp/dcgan-pwned")
    marker.unlink(missing_ok=True)
    for payload in ({"config": {}, "G": Evil()}, Evil()):
        p = tmp_path / "evil.pt"
        torch.save(payload, p)
        with pytest.raises(ckpt.CheckpointError, match="refused: it holds Python objects"):
            ckpt.load(p)
        with pytest.raises(ckpt.CheckpointError):
            ckpt.load_generator(p)
    assert not marker.exists()


@pytest.mark.parametrize(
    "config, message",
    [
        ([1, 2, 3], "config"),
        ({"model": {"nz": -5}}, "model.nz=-5"),
        ({"model": {"leaky_alpha": "x"}}, "invalid config"),
        ({"model": {"shape": 3}}, "does not match this version"),
        ({"model": "big"}, "invalid config"),
    ],
)
def test_uploaded_checkpoint_config_is_checked(small_state, tmp_path, config, message):
    p = tmp_path / "c.pt"
    torch.save({**small_state, "config": config}, p)
    with pytest.raises(ckpt.CheckpointError, match=message):
        ckpt.load(p)


@pytest.mark.parametrize("weights", ["not weights", [1, 2], {"0.0.weight": "x"}, {1: 2}])
def test_checkpoint_whose_weights_are_not_tensors_is_refused(small_state, tmp_path, weights):
    p = tmp_path / "c.pt"
    torch.save({**small_state, "G": weights}, p)
    with pytest.raises(ckpt.CheckpointError, match="weights"):
        ckpt.load_generator(p)


def test_mismatched_latent_size_or_architecture_is_named(small_state, tmp_path):
    p = ckpt.save(small_state, tmp_path / "c.pt")
    want = ModelConfig(**small_state["config"]["model"])
    with pytest.raises(ckpt.CheckpointError, match=r"nz 100 \(expected 128\)"):
        ckpt.load_generator(p, expected=ModelConfig(**{**want.__dict__, "nz": 128}))
    with pytest.raises(ckpt.CheckpointError, match=r"image_size 32 \(expected 64\)"):
        ckpt.load_generator(p, expected=ModelConfig(**{**want.__dict__, "image_size": 64}))
    with pytest.raises(ckpt.CheckpointError, match=r"ngf 8 \(expected 16\)"):
        ckpt.load_generator(p, expected=ModelConfig(**{**want.__dict__, "ngf": 16}))
    # a config that lies about its own weights (they are nz=100, it says 64)
    lying = {**small_state, "config": {**small_state["config"]}}
    lying["config"]["model"] = {**small_state["config"]["model"], "nz": 64}
    q = ckpt.save(lying, tmp_path / "lying.pt")
    with pytest.raises(ckpt.CheckpointError, match="do not match the architecture in its own"):
        ckpt.load_generator(q)


def test_safetensors_with_lying_metadata_is_refused(small_state, tmp_path):
    cfg = ModelConfig(**small_state["config"]["model"])
    p = ckpt.export_generator(small_state["G"], cfg, tmp_path / "g.safetensors")
    from safetensors.torch import load_file, save_file

    meta = ckpt.read_metadata(p)
    meta["model_config"] = json.dumps({**cfg.__dict__, "ngf": 16})
    save_file(load_file(p), str(tmp_path / "lie.safetensors"), metadata=meta)
    with pytest.raises(ckpt.CheckpointError, match="do not match the architecture"):
        ckpt.load_generator(tmp_path / "lie.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(ckpt.CheckpointError, match="not a readable safetensors"):
        ckpt.load_generator(tmp_path / "junk.safetensors")


def test_giant_architecture_claim_is_refused_before_building_it(small_state, tmp_path):
    """ngf=4096 at 128 px would be a ~130 GB generator: refused from the file's real shapes."""
    cfg = ModelConfig(**{**small_state["config"]["model"], "ngf": 4096, "image_size": 128})
    p = ckpt.export_generator(
        small_state["G"], ModelConfig(**small_state["config"]["model"]), tmp_path / "g.safetensors"
    )
    from safetensors.torch import load_file, save_file

    meta = {**ckpt.read_metadata(p), "model_config": json.dumps(cfg.__dict__)}
    save_file(load_file(p), str(tmp_path / "giant.safetensors"), metadata=meta)
    limit = 6 * 1024**3  # 6 GB of address space: building the claimed model cannot fit

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "dcgan.sample",
            "--checkpoint",
            str(tmp_path / "giant.safetensors"),
            "--out",
            str(tmp_path / "g.png"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
    )
    assert r.returncode == 2, r.stderr[-2000:]
    assert "do not match the architecture" in r.stderr and "Traceback" not in r.stderr


def test_checkpoint_zip_bomb_is_refused_before_unpacking(small_state, tmp_path):
    """A .pt is a zip: 64 MB of zeros deflated to ~64 kB must not be inflated by torch.load."""
    plain = tmp_path / "plain.pt"
    torch.save({**small_state, "pad": torch.zeros(16_000_000)}, plain)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w") as out:
        for info in src.infolist():
            kind = zipfile.ZIP_DEFLATED if "/data/" in info.filename else zipfile.ZIP_STORED
            out.writestr(info.filename, src.read(info), compress_type=kind)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(ckpt.CheckpointError, match="compressed"):
        ckpt.load(bomb)
    assert ckpt.load(plain)["step"] == 3  # an ordinary torch.save file still loads


# ------------------------------------------------------------------ the Streamlit app's limits


def test_streamlit_caps_upload_size():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    mb = cfg["server"]["maxUploadSize"]
    assert isinstance(mb, int) and 1 <= mb <= 1000, "an upload limit is set, in MB"
    # the zip caps sit above it, so a legitimate upload is never refused by them
    assert ZipLimits().max_total_bytes >= mb * 1_000_000


def test_uploaded_file_names_cannot_escape_the_uploads_folder(tmp_path, monkeypatch):
    pytest.importorskip("streamlit")
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from ui import uploads

    for name in ("../../evil.zip", "/etc/passwd", "..\\..\\x.pt", "", "a/../../b.safetensors"):
        p = uploads.save_upload(name, b"payload " + name.encode())
        assert p.parent == uploads.uploads_dir() and p.parent.is_relative_to(tmp_path), name
        assert p.read_bytes().startswith(b"payload")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["dcgan-playground-uploads"]

"""A visitor's own images (dcgan.upload): a zip checked and rewritten inside their folder, and
a live run on it that leaves no copy in the shared data cache. Every zip is drawn here, in
the test; none comes from ../shared. tests/test_space_upload.py sends the same zips through
the Space."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan import live, runs, upload
from dcgan.config import Config, ConfigError
from dcgan.data import DataError, read_zip


def png(i: int, size: tuple[int, int] = (48, 40), mode: str = "RGB") -> bytes:
    """A coloured square on a plain ground, its colour set by i."""
    img = Image.new("RGB", size, (250, 250, 240))
    colour = (i * 37 % 256, i * 91 % 256, 255 - i * 53 % 256)
    img.paste(colour, (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4))
    buf = io.BytesIO()
    img.convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def write_zip(path: Path, members, compression=zipfile.ZIP_DEFLATED) -> Path:
    """members: (name, bytes) pairs, written exactly as named (a '../' stays '../')."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, payload in members:
            zf.writestr(zipfile.ZipInfo(name), payload, compress_type=compression)
    return path


def good_zip(path: Path, n: int = 40) -> Path:
    """n drawn PNGs in two class folders, one greyscale, plus a note and a traversal member
    that are skipped: what a visitor's holiday zip might hold."""
    members = [(f"{'ab'[i % 2]}/{i:03d}.png", png(i)) for i in range(n - 1)]
    members.append(("b/grey.png", png(99, (20, 30), "L")))
    members += [("notes.txt", b"my pictures"), ("../evil.png", png(1))]
    return write_zip(path, members)


def hostile_zips(folder: Path) -> list[tuple[Path, str]]:
    """Bad archives a stranger might send, each with the words its one error must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "not-a-zip.zip").write_text("hello, not a zip")
    few = upload.MIN_IMAGES - 1
    return [
        (folder / "not-a-zip.zip", "is not a zip file"),
        (write_zip(folder / "traversal.zip", [("../evil.png", png(1))]), "unsafe path in zip"),
        (write_zip(folder / "bomb.zip", [("bomb.png", bytes(5_000_000))]), "ratio too high"),
        (
            write_zip(folder / "crowd.zip", [(f"{i}.png", b"") for i in range(5_001)]),
            "has 5,001 entries; the limit is 5,000",
        ),
        (write_zip(folder / "no-images.zip", [("a.txt", b"x"), ("b.csv", b"1,2")]), "no usable"),
        (
            write_zip(folder / "too-few.zip", [(f"{i}.png", png(i)) for i in range(few)]),
            f"holds {few} usable images; a run needs at least {upload.MIN_IMAGES}",
        ),
    ]


def tree(root: Path) -> list[str]:
    """Every path under root, relative, sorted (empty when root is absent)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_an_upload_is_kept_as_small_pngs_in_the_visitors_folder_only(tmp_path):
    """The images come out decoded at the run's size, as PNGs named by number in one zip in
    the folder; the note and the traversal member are skipped with reasons; a second upload
    replaces the first, and nothing else is written anywhere."""
    src = good_zip(tmp_path / "holiday.zip")
    before = tree(tmp_path)
    s = upload.prepare_upload(src, tmp_path / "visitor")
    assert (s.name, s.count, s.skipped) == ("holiday.zip", 40, 2)
    assert s.reasons == {"not an image file": 1, "unsafe path in zip (absolute or '..')": 1}
    assert s.path == live.uploaded_zip(tmp_path / "visitor")
    assert tree(tmp_path) == sorted(
        [*before, "visitor", "visitor/upload", "visitor/upload/your-images.zip"]
    )
    with zipfile.ZipFile(s.path) as zf:
        names = zf.namelist()
        first = np.asarray(Image.open(io.BytesIO(zf.read(names[0]))))
    assert names == [f"{i:04d}.png" for i in range(40)]
    assert first.shape == (upload.SIZE, upload.SIZE, 3) and first.dtype == np.uint8
    # the same pixels as decoding the visitor's own file at the run's size, in the same order
    theirs = read_zip(src, upload.SIZE).images
    assert np.array_equal(read_zip(s.path, upload.SIZE).images.numpy(), theirs.numpy())

    again = upload.prepare_upload(good_zip(tmp_path / "second.zip", 33), tmp_path / "visitor")
    assert again.count == 33 and again.path == s.path
    assert tree(tmp_path / "visitor") == ["upload", "upload/your-images.zip"]  # no .part left over
    assert len(zipfile.ZipFile(s.path).namelist()) == 33


def test_each_hostile_zip_is_one_clear_error_and_writes_nothing(tmp_path):
    """Every bad archive is refused with a DataError naming the file as the visitor named it
    (never the server's path) and what to do; nothing is written, and an earlier good upload
    of the visitor's stays theirs."""
    visitor = tmp_path / "visitor"
    for path, message in hostile_zips(tmp_path / "hostile"):
        before = tree(tmp_path)
        with pytest.raises(DataError) as err:
            upload.prepare_upload(path, visitor)
        text = str(err.value)
        assert message in text and text.startswith(path.name), text
        assert str(tmp_path) not in text
        assert tree(tmp_path) == before, path.name
    upload.prepare_upload(good_zip(tmp_path / "good.zip"), visitor)
    kept = live.uploaded_zip(visitor).read_bytes()
    with pytest.raises(DataError, match="no usable image"):
        upload.prepare_upload(tmp_path / "hostile" / "traversal.zip", visitor)
    assert live.uploaded_zip(visitor).read_bytes() == kept


def test_the_size_total_and_time_caps_refuse_by_name(tmp_path, monkeypatch):
    """A file over UPLOAD_MAX_BYTES, members unpacking past the total cap and a decode past
    its time budget each end as one DataError that names the visitor's file."""
    src = good_zip(tmp_path / "big.zip")
    monkeypatch.setattr(upload, "UPLOAD_MAX_BYTES", 1_000)
    with pytest.raises(DataError, match=r"big.zip is 0 MB; the limit is 0 MB"):
        upload.prepare_upload(src, tmp_path / "v")
    monkeypatch.undo()
    tight = dataclasses.replace(upload.UPLOAD_LIMITS, max_total_bytes=1_000)
    monkeypatch.setattr(upload, "UPLOAD_LIMITS", tight)
    with pytest.raises(DataError) as err:
        upload.prepare_upload(src, tmp_path / "v")
    assert str(err.value).startswith("big.zip unpacks to more than 1,000 bytes")
    monkeypatch.undo()
    monkeypatch.setattr(upload, "DECODE_BUDGET_S", -1.0)
    with pytest.raises(DataError, match="big.zip took more than"):
        upload.prepare_upload(src, tmp_path / "v")
    assert not (tmp_path / "v").exists()


def test_a_live_run_on_an_upload_trains_and_leaves_no_copy_in_the_data_cache(tmp_path, data_dir):
    """live.UPLOAD trains on the visitor's prepared zip (what ZeroGPU's GPU call runs too):
    the run's config names that zip with data.cache off, the shared data cache gets nothing,
    and discarding the visitor's folder removes every copy of their images."""
    visitor = tmp_path / "visitor"
    with pytest.raises(DataError, match="Upload a zip of images first"):
        live.run_source(live.UPLOAD, visitor)
    upload.prepare_upload(good_zip(tmp_path / "holiday.zip"), visitor)
    frames = list(live.train_here(live.UPLOAD, visitor, 60, max_steps=3, poll=0.05))
    assert frames[-1].status == "finished" and frames[-1].step == 3, frames[-1].error
    run_dir = Path(frames[-1].generator).parent
    cfg = Config.from_dict(runs.read_json(run_dir / runs.CONFIG))
    assert cfg.data.source == str(live.uploaded_zip(visitor))
    assert cfg.data.cache is False and cfg.data.flip is True
    assert tree(data_dir) == []  # decoded for this run only
    live.discard(visitor)
    assert not visitor.exists()


def test_the_cache_flag_defaults_on_and_old_configs_still_load():
    """data.cache is on unless a live run trains on a path; a config saved before the field
    existed (a checkpoint's, a run folder's) loads with it on; a non-bool is refused."""
    old = Config().to_dict()
    del old["data"]["cache"]
    assert Config.from_dict(old).data.cache is True
    off = Config().replace(**{"data.cache": False})
    assert Config.from_dict(off.to_dict()) == off
    with pytest.raises(ConfigError, match="data.cache='no' must be true or false"):
        Config().replace(**{"data.cache": "no"})
    assert live.live_config("shapes").data.cache is True
    on_path = live.live_config("/somewhere/images.zip")
    assert on_path.data.cache is False and on_path.data.flip is True


def test_the_space_readme_states_the_limits_the_engine_keeps():
    """space/README.md tells a visitor the upload's limits: the numbers dcgan.upload holds."""
    text = " ".join(
        (Path(__file__).resolve().parents[1] / "space" / "README.md").read_text().split()
    )
    assert f"at least {upload.MIN_IMAGES} PNG" in text
    assert f"up to {upload.UPLOAD_MAX_BYTES // 1_000_000} MB" in text
    assert f"at most {upload.UPLOAD_LIMITS.max_members:,} entries" in text
    assert f"as {upload.SIZE}×{upload.SIZE} PNGs" in text

"""Dataset sources: decoding, skipping, caching, the CLI and the Pokemon download path."""

import functools
import hashlib
import http.server
import io
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import data
from dcgan.data import DataError, load, make_shapes, sources, to_model_range

ROOT = Path(__file__).resolve().parents[1]


def png(colour=(255, 0, 0), size=(20, 10), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format="PNG")
    return buf.getvalue()


def make_folder(root: Path, n_per_class=3, broken=1) -> Path:
    for cls, colour in [("a", (255, 0, 0)), ("b", (0, 0, 255))]:
        (root / cls).mkdir(parents=True)
        for i in range(n_per_class):
            (root / cls / f"{i}.png").write_bytes(png(colour))
    for i in range(broken):
        (root / "a" / f"broken{i}.png").write_bytes(png()[:40])
    (root / "a" / "notes.txt").write_text("not an image")
    return root


def test_shapes_are_deterministic_and_carry_attributes():
    a, b = make_shapes(32, n=16), make_shapes(32, n=16)
    assert torch.equal(a.images, b.images)
    assert a.images.shape == (16, 3, 32, 32) and a.images.dtype == torch.uint8
    attrs = a.attributes[0]
    assert set(attrs) == {"shape", "colour", "size", "x", "y"}
    # the shape's colour really is in the picture: its dominant channel matches the label
    img = a.images[0].float()
    fg = (img < 200).any(0)
    mean = img[:, fg].mean(1)
    expected = data.SHAPE_COLOURS[attrs["colour"]]
    assert int(mean.argmax()) == int(np.argmax(expected))


def test_folder_loads_classes_and_counts_skips(tmp_path):
    s = load(str(make_folder(tmp_path / "imgs")), size=16)
    assert len(s) == 6 and s.images.shape[1:] == (3, 16, 16)
    assert s.class_names == ["a", "b"] and s.labels.tolist() == [0, 0, 0, 1, 1, 1]
    reasons = s.skip_reasons()
    assert sum(n for r, n in reasons.items() if "corrupt" in r) == 1
    assert reasons["not an image file"] == 1
    assert "images skipped: 2" in s.summary()


def test_folder_resize_stretches_like_the_chapter(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "x.png").write_bytes(png((0, 255, 0), size=(40, 10)))
    s = load(str(tmp_path / "f"), size=8)
    assert s.images.shape == (1, 3, 8, 8)
    assert s.images[0, 1].min() > 240 and s.images[0, 0].max() < 15


def test_zip_is_read_in_name_order_without_extracting(tmp_path):
    z = tmp_path / "x.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("pokemon/b/2.png", png((0, 0, 255)))
        zf.writestr("pokemon/a/1.png", png((255, 0, 0)))
        zf.writestr("pokemon/readme.txt", "hi")
    s = load(str(z), size=8)
    assert s.names == ["pokemon/a/1.png", "pokemon/b/2.png"]
    assert s.images[0, 0].float().mean() > 240  # red first
    assert not any(p.name == "pokemon" for p in tmp_path.rglob("*"))


def test_cache_is_reused_and_keyed_by_size(tmp_path, data_dir):
    src = str(make_folder(tmp_path / "imgs", broken=0))
    first = load(src, size=16)
    again = load(src, size=16)
    other = load(src, size=8)
    assert not first.from_cache and again.from_cache and not other.from_cache
    assert torch.equal(first.images, again.images)
    assert len(list((data_dir / "cache").glob("*.pt"))) == 2


def test_unknown_source_and_empty_folder_are_clear(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        load("nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no usable images"):
        load(str(tmp_path / "empty"))


def test_to_model_range_and_flip():
    x = torch.tensor([[[[0, 255]]]], dtype=torch.uint8).expand(4, 3, 1, 2)
    y = to_model_range(x)
    assert y.min() == -1 and y.max() == 1
    g = torch.Generator().manual_seed(0)
    flipped = to_model_range(x.repeat(16, 1, 1, 1), flip=True, generator=g)
    firsts = flipped[:, 0, 0, 0]
    assert (firsts == 1).any() and (firsts == -1).any()


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_every_listed_source_is_one_load_knows():
    """The UIs list data.SOURCES; load's refusal of an unknown name offers exactly those."""
    with pytest.raises(DataError) as e:
        load("no-such-source")
    offered = str(e.value).split("not one of ", 1)[1].split(" and no such", 1)[0]
    assert offered.split(", ") == list(data.SOURCES)
    for name, s in data.SOURCES.items():
        assert s.name == name
        data.check_path_allowed(s.name)  # a named source is never refused as a path
        assert s.label and s.description.endswith(".")
    assert data.source_label("/some/where/faces.zip") == "faces.zip"
    offline = [s.name for s in data.SOURCES.values() if s.offline]
    assert "shapes" in offline and "pokemon" not in offline


def test_data_cli_prints_summary_and_writes_grid(tmp_path):
    out = tmp_path / "grid.png"
    r = run_cli("dcgan.data", "shapes", "--size", "32", "--grid", str(out))
    assert r.returncode == 0, r.stderr
    assert "images loaded: 4096" in r.stdout and "resolution: 32x32" in r.stdout
    grid = Image.open(out)
    # 4 rows x 5 columns of 32px images with 2px padding
    assert grid.size == (5 * 34 + 2, 4 * 34 + 2)


def test_data_cli_refuses_unknown_source_without_traceback(capsys):
    # in-process: a traceback would be an exception here, which fails the test
    assert data.main(["no-such-thing"]) == 2
    assert "unknown dataset" in capsys.readouterr().err


# ------------------------------------------------------------------ pokemon download


def sha1_of(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture
def small_pokemon_zip(tmp_path) -> Path:
    """A tiny zip laid out like d2l's pokemon.zip (made here, no real sprites)."""
    z = tmp_path / "serve" / "pokemon.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(6):
            zf.writestr(f"pokemon/{i % 3}/{i}.png", png((40 * i, 100, 200)))
    return z


def test_pokemon_via_file_url_checks_sha1(small_pokemon_zip, data_dir, monkeypatch):
    monkeypatch.setenv("DCGAN_POKEMON_URL", small_pokemon_zip.as_uri())
    monkeypatch.setenv("DCGAN_POKEMON_SHA1", sha1_of(small_pokemon_zip))
    seen = []
    s = load("pokemon", size=16, progress=lambda d, t: seen.append((d, t)))
    assert len(s) == 6 and (data_dir / "pokemon.zip").exists()
    assert seen and seen[0][0] > 0


def test_pokemon_checksum_mismatch_leaves_nothing(small_pokemon_zip, data_dir, monkeypatch):
    monkeypatch.setenv("DCGAN_POKEMON_URL", small_pokemon_zip.as_uri())
    monkeypatch.setenv("DCGAN_POKEMON_SHA1", "0" * 40)
    with pytest.raises(DataError, match="checksum mismatch"):
        load("pokemon", size=16)
    assert not data_dir.exists() or not any(data_dir.iterdir())


def test_pokemon_download_over_http(shared_data, data_dir, monkeypatch):
    """The real shared pokemon.zip, served from 127.0.0.1, downloaded and decoded."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_data))
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv(
            "DCGAN_POKEMON_URL", f"http://127.0.0.1:{server.server_port}/pokemon.zip"
        )
        monkeypatch.setenv("DCGAN_POKEMON_SHA1", sha1_of(shared_data / "pokemon.zip"))
        got = []
        path = sources.pokemon_zip(progress=lambda d, t: got.append((d, t)))
        assert path.stat().st_size == (shared_data / "pokemon.zip").stat().st_size
        assert got[-1][0] == got[-1][1] > 0  # Content-Length seen, progress complete
        monkeypatch.setenv("DCGAN_POKEMON_SHA1", "f" * 40)
        path.unlink()
        with pytest.raises(DataError, match="checksum"):
            sources.pokemon_zip()
        assert list(data_dir.iterdir()) == []  # no partial file in the cache
    finally:
        server.shutdown()


def test_real_pokemon_decodes(shared_data, monkeypatch):
    monkeypatch.setenv("DCGAN_POKEMON_URL", (shared_data / "pokemon.zip").as_uri())
    monkeypatch.setenv("DCGAN_POKEMON_SHA1", sha1_of(shared_data / "pokemon.zip"))
    s = load("pokemon", size=32)
    assert len(s) + len(s.skipped) == 6768 and len(s) > 6700
    assert len(s.class_names) == 721
    # sprites sit on white: the corners are nearly white on average
    assert s.images[:, :, 0, 0].float().mean() > 200


def test_real_fashion_mnist_class_filter(shared_data, monkeypatch):
    # no DCGAN_FASHION_MNIST_DIR: the loader finds the shared folder's files by itself
    monkeypatch.delenv("DCGAN_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("DCGAN_SHARED_DATA", str(shared_data))
    s = load("fashion-mnist", size=32, classes=(7, 9))
    assert len(s) == 12000 and set(s.labels.tolist()) == {7, 9}
    assert s.images.shape[1:] == (3, 32, 32)
    assert torch.equal(s.images[:, 0], s.images[:, 1])  # grey, repeated into RGB


def test_real_anime_faces(shared_data, monkeypatch):
    monkeypatch.setenv("DCGAN_ANIME_FACES", str(shared_data / "anime_faces_64.zip"))
    s = load("anime-faces", size=64, limit=500)
    assert len(s) == 500 and s.images.shape[1:] == (3, 64, 64)


def test_anime_faces_missing_explains_how_to_get_it(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("DCGAN_ANIME_FACES", raising=False)
    monkeypatch.setenv("DCGAN_SHARED_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="Kaggle"):
        load("anime-faces")
    monkeypatch.setenv("DCGAN_ANIME_FACES", str(tmp_path / "typo.zip"))
    with pytest.raises(DataError, match="DCGAN_ANIME_FACES=.*typo.zip does not exist"):
        load("anime-faces")


def test_anime_faces_found_in_the_shared_folder_without_the_env(shared_data, monkeypatch):
    """One rule for the loader and the bench: the shared folder's copy needs no variable."""
    monkeypatch.delenv("DCGAN_ANIME_FACES", raising=False)
    monkeypatch.setenv("DCGAN_SHARED_DATA", str(shared_data))
    assert data.find_anime_faces() == shared_data / "anime_faces_64.zip"
    assert len(load("anime-faces", size=64, limit=50)) == 50


def test_anime_faces_in_the_data_cache_are_found(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("DCGAN_ANIME_FACES", raising=False)
    monkeypatch.setenv("DCGAN_SHARED_DATA", str(tmp_path / "empty"))
    assert data.find_anime_faces() is None
    make_folder(data_dir / "anime_faces", n_per_class=2, broken=0)
    assert data.find_anime_faces() == data_dir / "anime_faces"
    assert len(load("anime-faces", size=16)) == 4


def test_ui_paths_are_limited_to_allowed_roots(tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    (allowed / "imgs").mkdir(parents=True)
    monkeypatch.setenv("DCGAN_IMAGE_ROOTS", str(allowed))
    data.check_path_allowed(str(allowed / "imgs"))
    data.check_path_allowed("pokemon")  # named sources always pass
    for outside in ("/etc", str(allowed / ".." / "elsewhere")):
        with pytest.raises(DataError, match="outside the folders this app may read"):
            data.check_path_allowed(outside)
    data.check_path_allowed("/etc", extra_roots=(Path("/etc"),))


def test_a_space_visitor_trains_only_on_data_that_is_here_and_may_be_copied(tmp_path, monkeypatch):
    """Shapes always; Fashion-MNIST once its four files are on the machine; never the Pokemon
    sprites (no licence to redistribute) or the anime faces (a login)."""
    monkeypatch.delenv("DCGAN_FASHION_MNIST_DIR", raising=False)
    here = [s.name for s in data.SOURCES.values() if s.in_space()]
    assert here == ["shapes"]
    for name in ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1"):
        (tmp_path / f"{name}-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("DCGAN_FASHION_MNIST_DIR", str(tmp_path))
    here = [s.name for s in data.SOURCES.values() if s.in_space()]
    assert here == ["shapes", "fashion-mnist"]

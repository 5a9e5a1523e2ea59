"""Your own images in the Space: a zip uploaded on the Train tab through gradio_client, as a
stranger would send it, trained on, sampled from, and gone with the session; each hostile zip
is one clear error that writes nothing. The zips are drawn in tests/test_upload.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from dcgan import live, upload
from dcgan.config import Config
from dcgan.data import data_dir
from loadtest.net import wait_for
from tests import test_space
from tests.test_space import TRAIN_STEPS, pixels
from tests.test_upload import good_zip, hostile_zips, tree

gradio_client = pytest.importorskip("gradio_client")
import gradio as gr  # noqa: E402
from gradio.utils import get_upload_folder  # noqa: E402
from gradio_client import handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

# test_space.py's Space (its generators, a sessions folder, the TRAIN_STEPS cap), launched anew
# for this module
checkpoints, space = test_space.checkpoints, test_space.space


def in_gradio_cache(name: str) -> list[Path]:
    """Copies of an uploaded file named `name` in Gradio's upload folder."""
    return list(Path(get_upload_folder()).rglob(name))


def test_an_uploaded_zip_trains_plays_in_the_latent_tabs_and_goes_with_the_session(space, tmp_path):
    """Upload a zip of 40 drawn squares, press Train on "Your images": the run ends with a
    generator the Samples tab draws from; its config names the visitor's prepared zip with
    the data cache off, the shared cache gets nothing, Gradio's copy of the upload is deleted
    at once, and ending the session removes the visitor's folder, upload included."""
    app, url = space
    c = gradio_client.Client(url, verbose=False)
    with pytest.raises(AppError, match="Upload a zip of images first"):
        c.predict(live.UPLOAD, 30, api_name="/train")
    cache = tree(data_dir())
    text, picked, box = c.predict(
        handle_file(str(good_zip(tmp_path / "holiday.zip"))), api_name="/upload"
    )
    assert text.startswith("**40 images ready** from `holiday.zip`, 2 skipped (1 × "), text
    assert picked["value"] == live.UPLOAD and box["value"] is None
    folder = app.events.SESSIONS / c.session_hash
    assert tree(folder) == ["upload", "upload/your-images.zip"]
    assert in_gradio_cache("holiday.zip") == []

    job = c.submit(live.UPLOAD, 30, api_name="/train")
    job.result(timeout=300)
    text, _, _, download, pick = job.outputs()[-1]
    assert "**Your images (zip)**" in text and "Done" in text and f"step {TRAIN_STEPS}" in text
    assert pick["value"] == app.YOURS
    assert Path(download["value"]).name == f"dcgan-upload-step{TRAIN_STEPS}.safetensors"
    (config,) = folder.glob("run*/config.json")
    cfg = Config.from_dict(json.loads(config.read_text()))
    assert cfg.data.source == str(live.uploaded_zip(folder)) and cfg.data.cache is False
    assert tree(data_dir()) == cache

    assert pixels(c.predict(app.YOURS, 3, 4, api_name="/sample")).shape == (70, 70, 3)
    strip, _ = c.predict(app.YOURS, 1, 2, "slerp", 5, api_name="/interp")
    assert pixels(strip).shape == (36, 5 * 34 + 2, 3)
    info = c.predict(
        app.YOURS, 0, 4, 1, 2, "lerp", 3, 0.5, 0, "16", "0", "1", "2", 1, -1, 1, 0.0,
        api_name="/model",
    )[0]  # fmt: skip
    assert "Trained with dataset: your-images.zip" in info

    app.events.end_session(SimpleNamespace(session_hash=c.session_hash))  # the tab closed
    assert wait_for(lambda: not folder.exists(), timeout=60)


def test_each_hostile_zip_is_one_clear_error_and_leaves_nothing_behind(space, tmp_path):
    """A non-zip, a traversal member, a bomb, 5,001 members, no images, too few images: each
    answers one gr.Error with the Space's own words (never a server path), nothing appears in
    the sessions folder or the data cache, Gradio's copy is deleted, and the server answers
    the next request. A value that is not a file Gradio received is refused the same way."""
    app, url = space
    c = gradio_client.Client(url, verbose=False)
    sessions = app.events.SESSIONS
    for path, message in hostile_zips(tmp_path / "hostile"):
        before = tree(sessions), tree(data_dir())
        with pytest.raises(AppError) as err:
            c.predict(handle_file(str(path)), api_name="/upload")
        text = str(err.value)
        assert message in text and path.name in text, (path.name, text)
        assert str(get_upload_folder()) not in text and str(tmp_path) not in text
        assert (tree(sessions), tree(data_dir())) == before, path.name
        assert in_gradio_cache(path.name) == [], path.name
    assert pixels(c.predict("tiny-32", 0, 1, api_name="/sample")).shape == (36, 36, 3)

    # a value that is not a file Gradio received: Gradio refuses it or the Space does
    victim = good_zip(tmp_path / "victim.zip")  # a file on the server that nobody uploaded
    for value in ({"path": str(victim)}, {"path": 7}, "holiday.zip", [str(victim)]):
        with pytest.raises(AppError):
            c.predict(value, api_name="/upload")
    with pytest.raises(AppError, match="choose a .zip file of images"):
        c.predict(None, api_name="/upload")
    # ...and were it let through, the Space's own check refuses to read (and delete) it
    forged = {"path": str(victim), "meta": {"_type": "gradio.FileData"}}
    with pytest.raises(gr.Error, match="that file was not uploaded here"):
        sys.modules["checks"].uploaded(forged, "Your images")
    assert victim.exists() and not (sessions / c.session_hash).exists()


def test_the_zerogpu_function_trains_on_the_upload_too(space, tmp_path):
    """On ZeroGPU the run is zerogpu._train_on_gpu in a forked worker, given the source name
    and the visitor's folder: it finds the prepared zip there, as the process run does."""
    app, _ = space
    upload.prepare_upload(good_zip(tmp_path / "holiday.zip"), tmp_path / "visitor")
    frames = list(app.zerogpu._train_on_gpu(live.UPLOAD, str(tmp_path / "visitor"), 10, 3))
    last = frames[-1]
    assert last.ended and last.step == 3 and Path(last.generator).exists(), last.error
    run = json.loads((Path(last.generator).parent / "config.json").read_text())
    assert run["data"]["source"].endswith("visitor/upload/your-images.zip")

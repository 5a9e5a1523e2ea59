"""GAN basics before Train is pressed: the first look already shows the real points, G's
untrained cloud and D's surface, and says what they mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds per script run; generous for a busy 2-core CI machine


def test_gan_basics_draws_the_starting_state_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/gan_basics.py").run()
    assert not at.exception, [e.value for e in at.exception]
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert len(figs) == 1, "one chart, drawn before any training"
    traces = {t.get("type", "scatter"): t for t in figs[0]["data"]}
    assert traces["heatmap"]["z"], "D's decision surface is drawn"
    names = [t.get("name") for t in figs[0]["data"] if t.get("type", "scatter") == "scatter"]
    assert names == ["real", "generated"]
    text = " ".join(m.value for m in at.markdown)
    assert "Before training" in text and "generated (epoch 0)" in text
    assert "gb_frames" not in at.session_state, "nothing was trained to draw it"


def test_the_ring_collapse_setting_trains_and_shows_coverage(tmp_path, monkeypatch):
    """Pick the ring, press the collapse setting, train: the page circles the 8 modes and
    reports modes covered, KL and JS by epoch."""
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/gan_basics.py").run()
    at.radio(key="gb_data").set_value("ring").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "Before training" in text and "modes covered" in text
    next(b for b in at.button if b.label == "Collapse setting").click().run()
    assert at.select_slider(key="gb_mlrd").value == 1e-4, "D learns ten times slower than G"
    assert at.select_slider(key="gb_mlrg").value == 1e-3
    at.slider(key="gb_mepochs").set_value(2).run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    figs = {el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}
    layouts = [f["layout"] for f in figs.values()]
    circles = [s for lay in layouts for s in lay.get("shapes", []) if s.get("type") == "circle"]
    assert len(circles) == 8, "each ring mode is circled"
    names = {t.get("name") for f in figs.values() for t in f["data"]}
    assert {"covered", "KL", "JS", "G's samples"} <= names
    frames = at.session_state["gb_frames"][1]
    assert len(frames) == 3 and frames[0].epoch == 0
    assert f"{frames[-1].covered} of 8" in " ".join(m.value for m in at.markdown)


def test_the_dcgan_section_reads_class_coverage_from_the_shapes_run(tmp_path, monkeypatch):
    """A shapes run in the runs folder: the page charts how many shape x colour classes its
    timeline grids hold and names the missing ones."""
    from dcgan.data import make_shapes
    from dcgan.images import grid_array, png_bytes

    root = tmp_path / "runs"
    run = root / "shapes-run"
    (run / "samples").mkdir(parents=True)
    cfg = {"model": {"image_size": 32}, "data": {"source": "shapes"}, "train": {"n_samples": 64}}
    (run / "config.json").write_text(json.dumps(cfg))
    images = make_shapes(32, n=64, seed=3).images
    (run / "samples" / "step-0000100.png").write_bytes(png_bytes(grid_array(images, nrow=8)))
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(root))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/gan_basics.py").run()
    assert not at.exception, [e.value for e in at.exception]
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    names = {t.get("name") for f in figs for t in f["data"]}
    assert {"classes covered", "unreadable samples, %"} <= names
    caption = " ".join(c.value for c in at.caption)
    assert "Run shapes-run, step 100:" in caption and "of 12 classes covered in 64" in caption

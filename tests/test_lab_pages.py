"""The teaching lab's pages through streamlit.testing.v1.AppTest: "Is it memorising?",
"Inside the networks" and "Checkable arithmetic" render, run their one engine call, and show
what a user needs to read the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests import helpers

TIMEOUT = 180  # seconds per script run; the check and the classifier take a few on a busy CPU


@pytest.fixture(autouse=True)
def lab_server(tmp_path, monkeypatch):
    """A fresh server: its own runs folder, no shipped generators."""
    with helpers.page_server(tmp_path, monkeypatch):
        yield


def open_page(name: str) -> AppTest:
    """Run app.py, then switch to pages/<name>.py, as a visitor clicking the link would."""
    return helpers.open_page(name, TIMEOUT)


def text_of(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def saved_run(tmp_path: Path, **overrides) -> Path:
    """A small classroom-cpu checkpoint (G and D) saved where the picker lists saved runs."""
    from dcgan import checkpoint as ckpt
    from dcgan.config import preset
    from dcgan.models import build

    cfg = preset("classroom-cpu").replace(**{"model.ngf": 8, "model.ndf": 8, **overrides})
    G, D = build(cfg.model, seed=0)
    state = {"config": cfg.to_dict(), "G": G.state_dict(), "D": D.state_dict(), "step": 7}
    return ckpt.save(state, tmp_path / "runs" / "lab-run" / "last.pt")


def pick_saved(at: AppTest, key: str, path: Path) -> None:
    box = at.selectbox(key=key)
    labels = [o for o in box.options if "lab-run" in o]
    assert labels, box.options
    box.select_index(box.options.index(labels[0])).run()
    assert not at.exception, [e.value for e in at.exception]


# ---------------------------------------------------------------------- Is it memorising?


def test_memorisation_page_runs_the_check_and_shows_distances_and_neighbours():
    at = open_page("memorisation")
    assert at.title[0].value == "Is it memorising?"
    assert "What to look for" in text_of(at)
    assert at.selectbox(key="mem_source").value == "shapes"  # untrained: the offline default
    at.select_slider(key="mem_n").set_value(64)
    at.select_slider(key="mem_max").set_value(1000)
    at.button(key="mem_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and "Not flagged" in at.success[0].value
    figs = charts(at)
    assert len(figs) == 2  # pixels and D features
    for fig in figs:
        names = [t["name"] for t in fig["data"]]
        assert any("generated" in n for n in names) and any("held-out" in n for n in names)
    assert {m.label for m in at.metric} >= {
        "Within held-out's 5th pct",
        "Median distance ratio",
    }
    # 4 samples, each with its 5 nearest, in both spaces
    assert len(at.image) >= 2 * 4 * 6
    assert any("d = " in (c or "") for im in at.image for c in [im.proto.imgs[0].caption])
    assert "Theis" in at.info[-1].value
    assert "reference only" in text_of(at)  # it trained on every image: no true held-out set


def test_memorisation_uses_a_saved_runs_data_limit_and_trained_discriminator(tmp_path):
    saved_run(tmp_path, **{"data.limit": 1000})
    at = open_page("memorisation")
    pick_saved(at, "mem_gen", tmp_path)
    at.select_slider(key="mem_n").set_value(64)
    at.button(key="mem_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = text_of(at)
    assert "never trained on" in text  # the images past data.limit are a true held-out set
    assert "trained discriminator in last.pt" in text


# ---------------------------------------------------------------------- Inside the networks


def test_inside_page_draws_filters_feature_maps_and_dead_units():
    at = open_page("inside")
    assert at.title[0].value == "Inside the networks"
    assert "What to look for" in text_of(at)
    assert "randomly initialised discriminator" in text_of(at)  # the untrained G has no D
    n_images = len(at.image)
    assert n_images >= 2 + 1 + 5 + 3  # two filter grids, the sample, G's and D's layers
    verdict = [m for m in at.metric if m.label.startswith("D's verdict")]
    assert verdict and 0 <= float(verdict[0].value) <= 1
    dead = [f for f in charts(at) if "Dead units" in f["layout"]["title"]["text"]][0]
    assert dead["data"][0]["x"] == ["block0", "block1", "block2"]
    before = [im.proto.imgs[0].url for im in at.image]
    at.number_input(key="inside_seed").set_value(5).run()
    after = [im.proto.imgs[0].url for im in at.image]
    assert before[:2] == after[:2]  # the filters do not depend on the sample
    assert before[2:] != after[2:]  # the feature maps do


def test_inside_page_reads_a_relu_runs_discriminator(tmp_path):
    saved_run(tmp_path, **{"model.d_activation": "relu"})
    at = open_page("inside")
    pick_saved(at, "inside_gen", tmp_path)
    text = text_of(at)
    assert "trained discriminator in last.pt" in text and "ReLU" in text


# ---------------------------------------------------------------------- Checkable arithmetic


@pytest.fixture
def quick_classifier(tmp_path, monkeypatch):
    """A classifier trained on a few shapes for one epoch, in a cache of its own: the page's
    wiring is under test here; the classifier's accuracy is tested in test_lab_engine."""
    from dcgan import attributes

    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(attributes, "TRAIN_IMAGES", 128)
    monkeypatch.setattr(attributes, "VALID_IMAGES", 64)
    monkeypatch.setattr(attributes, "EPOCHS", 1)


def test_arithmetic_page_explains_an_untrained_generator(quick_classifier):
    at = open_page("arithmetic")
    assert at.title[0].value == "Checkable arithmetic"
    assert "What to look for" in text_of(at)
    at.select_slider(key="arith_pool").set_value(512)
    at.button(key="arith_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.warning and "Train the generator longer" in at.warning[0].value
    assert not at.metric  # no score is shown for a query that could not be scored


def test_arithmetic_page_names_an_unknown_word(quick_classifier):
    at = open_page("arithmetic")
    at.text_input(key="arith_expr").set_value("purple square - red + blue")
    at.button(key="arith_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "unknown attribute word 'purple'" in at.warning[0].value


def test_arithmetic_page_warns_when_the_generator_did_not_train_on_shapes(tmp_path):
    saved_run(tmp_path, **{"data.source": "pokemon"})
    at = open_page("arithmetic")
    pick_saved(at, "arith_gen", tmp_path)
    assert at.warning and "trained on pokemon" in at.warning[0].value

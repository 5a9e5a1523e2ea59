"""Shareable links: each page opened from a link holds the link's settings, its Copy link box
gives a link that opens the same settings again, and a bad or stale parameter falls back to
the default with a note naming it, never an exception."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dcgan import checkpoint as ckpt
from dcgan import gan2d
from dcgan.config import preset
from dcgan.data import SOURCES, source_label
from dcgan.losses import LOSSES
from dcgan.models import build
from tests import helpers
from ui import links, state, train_settings

TIMEOUT = 120  # seconds per script run; generous for a busy 2-core CI machine


@pytest.fixture(autouse=True)
def fresh_server(tmp_path, monkeypatch):
    """Fresh caches, an empty runs folder and no shipped generators: the untrained generator
    is every picker's only choice, whatever this machine has trained."""
    from dcgan import pretrained

    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "no-shipped-generators")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()


def open_link(page: str, params: dict) -> AppTest:
    """A new visitor opening pages/<page>.py from a link carrying `params`."""
    at = AppTest.from_file(helpers.APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def copied(at: AppTest) -> dict:
    """The parameters of the link in the page's Copy link box, opened."""
    at.session_state[links.COPY] = True
    at.run()
    shown = [c.value for c in at.code if c.value.startswith("?")]
    assert len(shown) == 1, [c.value for c in at.code]
    return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(urlsplit(shown[0]).query).items()}


def notes(at: AppTest) -> list[str]:
    """The link notes on the page."""
    return [i.value for i in at.info if "This link had settings" in i.value]


def values(at: AppTest, keys) -> dict:
    """The values the widgets under `keys` hold."""
    return {k: at.session_state[k] for k in keys}


def round_trip(page: str, params: dict, want: dict) -> AppTest:
    """Open the link, check the widgets hold `want` with no note, then open the Copy link
    box's link as a second visitor and check it gives the same settings."""
    at = open_link(page, params)
    assert values(at, want) == want
    assert not notes(at)
    again = open_link(page, copied(at))
    assert values(again, want) == want and not notes(again)
    return again


def test_latent_links_round_trip_on_each_tab():
    round_trip(
        "latent",
        {"li_a": "5", "li_b": "9", "li_n": "12", "li_t": "0.3"},
        {"li_a": 5, "li_b": 9, "li_n": 12, "li_t": 0.3},
    )
    round_trip(
        "latent",
        {
            "latent_tab": "Vector arithmetic",
            "va_seed": "3",
            "va_n": "16",
            "va_A": ["4", "5"],
            "va_ca": "0.5",
            "va_noise": "0.0",
        },
        {"va_seed": 3, "va_n": 16, "va_A": [4, 5], "va_ca": 0.5, "va_noise": 0.0},
    )
    at = round_trip(
        "latent",
        {
            "latent_tab": "Random walk",
            "rw_seed": "2",
            "rw_frames": "24",
            "rw_n": "2",
            "rw_ms": "200",
            "rw_play": "true",
        },
        {"rw_seed": 2, "rw_frames": 24, "rw_n": 2, "rw_ms": 200, "rw_play": True},
    )
    assert any(b.label == "Download the GIF" for b in at.get("download_button"))  # it animates


def test_a_link_that_spells_out_a_default_is_honoured_without_a_note():
    at = open_link("latent", {"li_a": "1", "li_t": "0.50"})  # Seed A's and t's defaults
    assert values(at, ("li_a", "li_t")) == {"li_a": 1, "li_t": 0.5} and not notes(at)


def test_bad_latent_parameters_fall_back_to_defaults_with_a_note():
    at = open_link(
        "latent",
        {
            "latent_tab": "No such tab",
            "gen_choice": "Saved: runs/gone/last.pt",  # a saved run deleted since
            "li_a": "abc",
            "li_b": "7",
            "li_n": "99",  # the slider stops at 16
            "li_t": "2",
        },
    )
    assert values(at, ("li_a", "li_b", "li_n", "li_t")) == {
        "li_a": 1,
        "li_b": 7,
        "li_n": 9,
        "li_t": 0.5,
    }
    assert at.selectbox(key="gen_choice").value == "Untrained (random weights)"
    said = " ".join(notes(at))
    for bad in ("latent_tab=No such tab", "gen_choice=Saved: runs/gone/last.pt", "li_a=abc"):
        assert bad in said
    assert "li_n=99" in said and "li_t=2" in said and "li_b" not in said
    assert copied(at) == {"li_b": "7"}  # the link now holds only what the page uses


def test_train_link_round_trips_its_preset_and_settings():
    classes = SOURCES["fashion-mnist"].classes
    params = {
        "tr_preset": "paper",
        "tr_source": source_label("fashion-mnist", picker=True),
        "tr_classes": [classes[7], classes[9]],
        "tr_lr": "0.001",
        "tr_unit": "steps",
        "tr_len": "300",
        "tr_loss": LOSSES["hinge"].title,
        "tr_aug": "true",
    }
    want = {
        "tr_preset": "paper",
        "tr_source": "fashion-mnist",
        "tr_classes": [7, 9],
        "tr_lr": 0.001,
        "tr_unit": "steps",
        "tr_len": 300,
        "tr_loss": "hinge",
        "tr_aug": True,
    }
    at = round_trip("train", params, want)
    # a setting the link leaves out was at its default, the default preset's value
    assert at.session_state["tr_batch"] == preset("classroom-cpu").train.batch_size


def test_a_preset_picked_on_the_train_page_reaches_the_link():
    at = open_link("train", {})
    at.selectbox(key="tr_preset").set_value("paper").run()
    link = copied(at)
    paper = train_settings.values_from(preset("paper"))
    # the browser adds the picked preset itself; the settings the preset changed are in the link
    again = open_link("train", {**link, "tr_preset": "paper"})
    assert values(again, paper) == paper


def test_bad_train_parameters_fall_back_to_defaults_with_a_note():
    at = open_link(
        "train",
        {"tr_preset": "nope", "tr_batch": "zz", "tr_source": "an upload gone", "tr_lr": "5"},
    )
    defaults = train_settings.DEFAULTS
    assert at.session_state["tr_preset"] == "classroom-cpu"
    assert at.session_state["tr_source"] == "shapes"
    assert values(at, ("tr_batch", "tr_lr")) == {
        "tr_batch": defaults["tr_batch"],
        "tr_lr": defaults["tr_lr"],
    }
    said = " ".join(notes(at))
    for bad in ("tr_preset=nope", "tr_batch=zz", "tr_source=an upload gone", "tr_lr=5"):
        assert bad in said


def test_gan_basics_links_round_trip_both_slider_sets():
    round_trip(
        "gan_basics",
        {"gb_epochs": "7", "gb_lrd": "0.01", "gb_lrg": "0.05", "gb_seed": "4"},
        {"gb_data": "gaussian", "gb_epochs": 7, "gb_lrd": 0.01, "gb_lrg": 0.05, "gb_seed": 4},
    )
    round_trip(
        "gan_basics",
        {
            "gb_data": gan2d.DATASETS["ring"],
            "gb_mepochs": "12",
            "gb_mlrd": "0.0001",
            "gb_seed": "3",
        },
        {"gb_data": "ring", "gb_mepochs": 12, "gb_mlrd": 0.0001, "gb_mlrg": 0.001, "gb_seed": 3},
    )


def test_bad_gan_basics_parameters_fall_back_with_a_note():
    at = open_link(
        "gan_basics", {"gb_data": "ring", "gb_lrd": "0.3", "gb_seed": "-3", "gb_epochs": "x"}
    )
    assert values(at, ("gb_data", "gb_lrd", "gb_seed", "gb_epochs")) == {
        "gb_data": "gaussian",  # the link names the option as the page shows it
        "gb_lrd": 0.05,
        "gb_seed": 0,
        "gb_epochs": 20,
    }
    said = " ".join(notes(at))
    assert all(f"{k}=" in said for k in ("gb_data", "gb_lrd", "gb_seed", "gb_epochs"))


def test_arithmetic_link_round_trips_and_bad_values_fall_back():
    round_trip(
        "arithmetic",
        {
            "arith_expr": "blue circle - blue + yellow",
            "arith_pool": "1024",
            "arith_trials": "50",
            "arith_seed": "9",
        },
        {
            "arith_expr": "blue circle - blue + yellow",
            "arith_pool": 1024,
            "arith_trials": 50,
            "arith_seed": 9,
        },
    )
    at = open_link("arithmetic", {"arith_pool": "abc", "arith_trials": "7", "arith_seed": "1e9"})
    assert values(at, ("arith_pool", "arith_trials", "arith_seed")) == {
        "arith_pool": 2048,
        "arith_trials": 200,
        "arith_seed": 0,
    }
    said = " ".join(notes(at))
    assert all(f"{k}=" in said for k in ("arith_pool", "arith_trials", "arith_seed"))


def test_a_train_setting_a_link_leaves_out_means_what_a_new_visitor_starts_on():
    # the browser leaves a widget's default out of the link, so each default must be the value
    # a new session starts on; otherwise a sharer's setting that happens to equal the widget's
    # default would arrive as the default preset's value instead
    at = open_link("train", {})
    checked = set()
    for kind in ("selectbox", "radio", "number_input", "slider", "toggle"):
        for el in at.get(kind):
            if el.key not in train_settings.LINKED_KEYS:
                continue
            default = el.proto.default
            if kind in ("selectbox", "radio"):
                assert default == el.index, el.key
            elif kind == "slider":
                assert list(default) == [el.value], el.key
            else:
                assert default == el.value, el.key
            checked.add(el.key)
    assert checked == set(train_settings.LINKED_KEYS) - {"tr_classes"}  # shapes has no classes


def test_a_dataset_handed_over_by_the_data_page_reaches_the_train_link():
    at = AppTest.from_file(helpers.APP, default_timeout=TIMEOUT).run()
    at.session_state[state.TRAIN_SOURCE] = "fashion-mnist"  # "Train on this dataset"
    at.session_state[state.TRAIN_CLASSES] = [1]
    at.switch_page("pages/train.py").run()
    want = {"tr_source": "fashion-mnist", "tr_classes": [1]}
    assert values(at, want) == want
    again = open_link("train", copied(at))
    assert values(again, want) == want and not notes(again)

    # the first change a user makes there is theirs: the hand-over does not set it back
    at = AppTest.from_file(helpers.APP, default_timeout=TIMEOUT).run()
    at.session_state[state.TRAIN_SOURCE] = "fashion-mnist"
    at.switch_page("pages/train.py").run()
    at.selectbox(key="tr_source").set_value("anime-faces").run()
    assert at.session_state["tr_source"] == "anime-faces"


def test_a_link_names_its_generator_on_the_latent_and_lab_pages(tmp_path):
    cfg = preset("classroom-cpu").model
    for name in ("r1", "r2"):  # r2 is newer: the default pick; the link asks for r1
        ckpt.export_generator(
            build(cfg, seed=1)[0], cfg, tmp_path / "runs" / name / "g.safetensors"
        )
    want = "Saved: r1/g.safetensors"
    assert open_link("latent", {}).selectbox(key="gen_choice").value != want
    at = open_link("latent", {"gen_choice": want})
    assert at.selectbox(key="gen_choice").value == want and not notes(at)
    assert any(c.value.startswith("Using g.safetensors") for c in at.caption)
    at = open_link("arithmetic", {"arith_gen": want})
    assert at.selectbox(key="arith_gen").value == want and not notes(at)

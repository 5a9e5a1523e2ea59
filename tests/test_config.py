"""Presets carry the chapter's and the paper's settings; bad values name their field."""

import dataclasses

import pytest

from dcgan.config import Config, ConfigError, preset


def test_d2l_preset_is_the_chapter():
    c = preset("d2l")
    assert (c.train.lr, c.train.batch_size, c.train.epochs) == (0.005, 256, 20)
    assert c.train.loss_reduction == "sum" and c.model.init == "d2l" and c.model.d_first_bn
    assert (c.train.beta1, c.train.beta2) == (0.5, 0.999)
    assert (c.model.nz, c.model.ngf, c.model.ndf, c.model.image_size) == (100, 64, 64, 64)


def test_paper_preset_differs_in_the_three_ways():
    c = preset("paper")
    assert c.train.lr == 0.0002 and c.train.batch_size == 128
    assert c.model.init == "paper" and not c.model.d_first_bn


def test_classroom_preset_is_small():
    c = preset("classroom-cpu")
    assert c.model.image_size == 32 and c.model.ngf < 64


@pytest.mark.parametrize(
    "field, value",
    [
        ("train.lr", 0.0),
        ("train.lr", -1.0),
        ("train.batch_size", 0),
        ("model.image_size", 48),
        ("train.beta1", 1.0),
        ("model.d_activation", "tanh"),
        ("train.precision", "fp8"),
    ],
)
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field.split(".")[1]):
        preset("d2l").replace(**{field: value}).validate()


def test_unknown_preset_and_field_are_refused():
    with pytest.raises(ConfigError, match="preset"):
        preset("nope")
    with pytest.raises(ConfigError, match="unknown config field"):
        preset("d2l").replace(**{"train.learning_rate": 1})


def test_dict_round_trip():
    c = preset("paper").replace(**{"data.classes": (1, 2)})
    assert Config.from_dict(c.to_dict()) == c


def test_configs_are_frozen_so_a_running_config_cannot_drift():
    c = preset("classroom-cpu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.data.flip = True
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.preset = "d2l"
    flipped = c.replace(**{"data.flip": True})
    assert flipped.data.flip and not c.data.flip  # a copy; the original is unchanged


def test_replace_validates_the_copy():
    with pytest.raises(ConfigError, match="train.lr=0"):
        preset("d2l").replace(**{"train.lr": 0})
    with pytest.raises(ConfigError, match="unknown config field 'optim.lr'"):
        preset("d2l").replace(**{"optim.lr": 1e-3})


def test_with_overrides_keeps_the_preset_where_a_value_is_none():
    c = Config.with_overrides(
        "paper",
        {"train.lr": 1e-3, "train.batch_size": None, "data.classes": [7, 9], "data.flip": None},
    )
    assert c.train.lr == 1e-3 and c.preset == "paper"
    assert c.train.batch_size == preset("paper").train.batch_size
    assert c.data.classes == (7, 9) and not c.data.flip  # a widget's list arrives as a tuple
    assert Config.from_dict(c.to_dict()) == c
    with pytest.raises(ConfigError, match="model.image_size=48"):
        Config.with_overrides("d2l", {"model.image_size": 48})
    with pytest.raises(ConfigError, match="unknown preset"):
        Config.with_overrides("fast", {})

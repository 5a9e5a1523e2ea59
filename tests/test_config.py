"""Presets carry the chapter's and the paper's settings; bad values name their field."""

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

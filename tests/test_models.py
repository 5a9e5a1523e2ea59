"""The chapter's shape facts and the model options."""

import pytest
import torch

from dcgan.config import ConfigError, ModelConfig
from dcgan.models import D_block, Discriminator, G_block, Generator, build, trace_shapes
from tests.helpers import CHAPTER_G_SHAPES


def test_g_block_doubles_16_to_32_with_20_channels():
    blk = G_block(20)
    assert blk(torch.zeros(2, 3, 16, 16)).shape == (2, 20, 32, 32)


def test_g_block_stride1_pad0_turns_1x1_into_4x4():
    blk = G_block(20, strides=1, padding=0)
    assert blk(torch.zeros(2, 3, 1, 1)).shape == (2, 20, 4, 4)


def test_generator_maps_latent_to_64x64_rgb_in_tanh_range():
    G = Generator(ModelConfig())
    out = G(torch.randn(1, 100, 1, 1))
    assert out.shape == (1, 3, 64, 64)
    assert out.abs().max() <= 1.0


def test_d_block_halves_16_to_8():
    assert D_block(20)(torch.zeros(2, 3, 16, 16)).shape == (2, 20, 8, 8)


def test_discriminator_maps_64x64_to_one_logit():
    assert Discriminator(ModelConfig())(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 1, 1)


def test_generator_channels_follow_the_chapter():
    rows = trace_shapes(Generator(ModelConfig()), torch.zeros(1, 100, 1, 1))
    shapes = [r["shape"][1:] for r in rows]
    assert shapes[:6] == CHAPTER_G_SHAPES


@pytest.mark.parametrize("size", [32, 64, 128])
def test_every_supported_size_round_trips(size):
    cfg = ModelConfig(image_size=size, ngf=8, ndf=8)
    G, D = build(cfg)
    x = G(torch.randn(2, 100, 1, 1))
    assert x.shape == (2, 3, size, size)
    assert D(x).shape == (2, 1, 1, 1)


def test_unsupported_size_names_the_field():
    with pytest.raises(ConfigError, match="image_size"):
        Generator(ModelConfig(image_size=48))


def test_relu_discriminator_and_no_first_bn():
    D = Discriminator(ModelConfig(d_activation="relu", d_first_bn=False))
    first = list(D[0])
    assert isinstance(first[-1], torch.nn.ReLU)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in first)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D[1])


def test_init_schemes_differ_on_batchnorm_weights():
    G_d2l, _ = build(ModelConfig(init="d2l"))
    G_paper, _ = build(ModelConfig(init="paper"))
    bn_d2l, bn_paper = G_d2l[0][1].weight, G_paper[0][1].weight
    assert abs(bn_d2l.mean().item()) < 0.01 and bn_d2l.std().item() == pytest.approx(0.02, rel=0.3)
    assert bn_paper.mean().item() == pytest.approx(1.0, abs=0.01)
    conv = G_paper[0][0].weight
    assert conv.std().item() == pytest.approx(0.02, rel=0.1)


def test_build_is_reproducible_by_seed():
    a, _ = build(ModelConfig(ngf=8), seed=3)
    b, _ = build(ModelConfig(ngf=8), seed=3)
    c, _ = build(ModelConfig(ngf=8), seed=4)
    assert torch.equal(a[0][0].weight, b[0][0].weight)
    assert not torch.equal(a[0][0].weight, c[0][0].weight)


def test_trace_shapes_matches_forward_pass():
    D = Discriminator(ModelConfig(image_size=32, ndf=16))
    rows = trace_shapes(D, torch.zeros(1, 3, 32, 32))
    assert rows[-1]["shape"] == (1, 1, 1, 1)
    assert [r["shape"][-1] for r in rows] == [32, 16, 8, 4, 1]
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in D.parameters())

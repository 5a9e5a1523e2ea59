"""The generator average (EMA) and DiffAugment: what samples use, what checkpoints keep."""

import copy

import pytest
import torch

from dcgan import checkpoint as ckpt
from dcgan.augment import diff_augment, parse_policy, rand_cutout, rand_translation
from dcgan.checkpoint import recalibrate_batchnorm
from dcgan.config import ConfigError, preset
from dcgan.data import make_shapes
from dcgan.images import grid_array
from dcgan.models import Generator
from dcgan.trainer import Trainer
from tests import helpers
from tests.helpers import full_and_resumed


@pytest.fixture(scope="module")
def shapes32():
    return make_shapes(32, n=256)


def small_cfg(**over):
    """tests.helpers.small_cfg, narrower (8 wide) and in fp32, with the EMA on."""
    return helpers.small_cfg(
        **{
            "model.ngf": 8,
            "model.ndf": 8,
            "train.sample_every": 5,
            "train.precision": "fp32",
            "train.ema_decay": 0.99,
            **over,
        }
    )


def max_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """Largest absolute difference between two modules' weights and BatchNorm statistics."""
    return max(
        (x - y).abs().max().item()
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
        if x.is_floating_point()  # not num_batches_tracked, a step count
    )


def test_d2l_preset_stays_the_chapter():
    t = preset("d2l").train
    assert t.ema_decay == 0.0 and t.diffaugment == ""
    tr = Trainer(preset("d2l").replace(**{"train.batch_size": 8}), make_shapes(64, n=16))
    assert tr.G_ema is None and tr.sampling_generator() is tr.G


def test_samples_and_timeline_come_from_the_average(shapes32):
    tr = Trainer(small_cfg(), shapes32)
    tr.run(10)
    assert tr.sampling_generator() is tr.G_ema
    ema, raw = tr.sample(), tr.sample_raw()
    assert ema.shape == raw.shape and not torch.equal(ema, raw)
    frame = grid_array(tr.sample(), nrow=8)
    assert tr.timeline[-1][0] == 10 and (tr.timeline[-1][1] == frame).all()


def test_warmup_keeps_early_samples_off_the_initial_weights(shapes32):
    init = Generator(small_cfg().model)
    ramped = Trainer(small_cfg(**{"train.ema_decay": 0.999}), shapes32)
    init.load_state_dict(ramped.G.state_dict())
    ramped.run(8)
    constant = Trainer(small_cfg(**{"train.ema_decay": 0.999, "train.ema_warmup": 0}), shapes32)
    constant.run(8)
    # without the ramp, 0.999 leaves the average at the initial weights for hundreds of steps
    assert max_diff(constant.G_ema, init) < 0.1 * max_diff(constant.G, init)
    # with it, the average has followed G most of the way
    assert max_diff(ramped.G_ema, ramped.G) < 0.5 * max_diff(ramped.G, init)
    assert ramped.ema_decay_at(0) < 0.2 and ramped.ema_decay_at(100_000) == 0.999


def test_average_lies_between_its_start_and_g(shapes32):
    tr = Trainer(small_cfg(**{"train.ema_warmup": 0, "train.ema_decay": 0.5}), shapes32)
    before = copy.deepcopy(tr.G_ema)
    tr.step()
    # one update with decay 0.5 lands halfway, BatchNorm running statistics included
    for (k, e), b, g in zip(
        tr.G_ema.state_dict().items(),
        before.state_dict().values(),
        tr.G.state_dict().values(),
        strict=True,
    ):
        want = g if not e.is_floating_point() else (b + g) / 2
        assert torch.allclose(e, want, atol=1e-6), k


@pytest.mark.parametrize("aug", ["", "color,translation,cutout"])
def test_resume_with_ema_matches_uninterrupted_run(shapes32, tmp_path, aug):
    cfg = small_cfg(**{"train.diffaugment": aug, "data.flip": True})
    # 8 steps per epoch: 14 steps crosses an epoch, split at 6
    full, second = full_and_resumed(cfg, shapes32, tmp_path, steps=14, split=6)
    assert second.history.columns["loss_D"] == full.history.columns["loss_D"]
    assert max_diff(full.G, second.G) == 0.0
    assert max_diff(full.G_ema, second.G_ema) == 0.0


def test_checkpoint_without_average_still_loads(shapes32, tmp_path):
    old = Trainer(small_cfg(**{"train.ema_decay": 0.0}), shapes32)
    old.run(3)
    state = old.state_dict()
    assert "G_ema" not in state
    ckpt.save(state, tmp_path / "old.pt")
    tr = Trainer(small_cfg(), shapes32)  # the EMA now on: it starts from the saved G
    tr.load_state_dict(ckpt.load(tmp_path / "old.pt"))
    assert max_diff(tr.G_ema, old.G) == 0.0
    tr.run(2)
    assert tr.step_num == 5


def test_load_generator_prefers_the_average(shapes32, tmp_path):
    tr = Trainer(small_cfg(), shapes32)
    tr.run(6)
    ckpt.save(tr.state_dict(), tmp_path / "run.pt")
    G, _, meta = ckpt.load_generator(tmp_path / "run.pt")
    assert meta["weights"] == "G_ema"
    assert max_diff(G, tr.G_ema) == 0.0 and max_diff(G, tr.G) > 0


def test_diffaugment_passes_gradients_to_g():
    cfg = small_cfg().model
    G = Generator(cfg)
    z = torch.randn(4, cfg.nz, 1, 1)
    gen = torch.Generator().manual_seed(0)
    out = diff_augment(G(z), "color,translation,cutout", gen)
    out.square().mean().backward()
    grads = [p.grad for p in G.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(g.abs().sum() > 0 for g in grads)


def test_diffaugment_is_seeded_and_changes_images():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    pol = "color,translation,cutout"
    a = diff_augment(x, pol, torch.Generator().manual_seed(1))
    b = diff_augment(x, pol, torch.Generator().manual_seed(1))
    c = diff_augment(x, pol, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, x)
    assert diff_augment(x, "", None) is x


def test_cutout_blanks_a_square_half_the_side():
    x = torch.ones(32, 3, 16, 16)
    out = rand_cutout(x, torch.Generator().manual_seed(0))
    zeros = (out[:, 0] == 0).flatten(1).sum(1)
    # an 8 x 8 square, clipped at the border: at most 64 pixels, at least a quarter of it
    assert zeros.max() <= 64 and zeros.min() >= 16 and (zeros == 64).any()
    assert torch.equal(out[:, 0], out[:, 2])  # the same hole in every channel


def test_translation_moves_content_without_changing_it():
    x = torch.zeros(16, 1, 16, 16)
    x[:, :, 8, 8] = 1.0  # one bright pixel per image
    out = rand_translation(x, torch.Generator().manual_seed(0))
    assert torch.equal(out.flatten(1).sum(1), torch.ones(16))  # moved at most 2 px: kept
    pos = out.flatten(1).argmax(1)
    rows, cols = pos // 16, pos % 16
    assert ((rows - 8).abs() <= 2).all() and ((cols - 8).abs() <= 2).all()
    assert len(set(pos.tolist())) > 1


def test_bad_policy_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="unknown augmentation 'colour'.*color, translation"):
        preset("paper").replace(**{"train.diffaugment": "colour,cutout"}).validate()
    assert parse_policy(" color , cutout ") == ("color", "cutout")
    with pytest.raises(ConfigError, match="ema_decay=1.0 must lie in"):
        preset("paper").replace(**{"train.ema_decay": 1.0}).validate()


def test_recalibrated_batchnorm_holds_the_statistics_of_fresh_latents():
    cfg = small_cfg().model
    G = Generator(cfg)
    recalibrate_batchnorm(G, cfg.nz, n=512, batch=128, seed=5)
    bn = G[0][1]  # the first block's BatchNorm, after its ConvTranspose2d
    gen = torch.Generator().manual_seed(5)
    z = torch.cat([torch.randn(128, cfg.nz, 1, 1, generator=gen) for _ in range(4)])
    with torch.no_grad():
        pre = G[0][0](z)  # what the BatchNorm saw, all 512 latents
    assert not G.training and bn.momentum == 0.1  # handed back ready to sample
    assert torch.allclose(bn.running_mean, pre.mean(dim=(0, 2, 3)), atol=1e-5)

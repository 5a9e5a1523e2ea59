"""Health hints: each classic failure is flagged from the numbers, a healthy run is not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcgan import health
from dcgan.images import grid_array


def snapshot(n=200, loss_D=0.6, loss_G=0.9, D_G_z=0.4, timeline=(), reduction="mean", batch=64):
    """(config, history, diversity) with constant (or per-step list) metrics, as a run has."""

    def col(v):
        return list(v) if isinstance(v, (list, np.ndarray)) else [v] * n

    columns = {
        "loss_D": col(loss_D),
        "loss_G": col(loss_G),
        "D_G_z1": col(D_G_z),
        "D_x": [0.6] * n,
    }
    cfg = {
        "model": {"image_size": 8},
        "train": {"loss_reduction": reduction, "batch_size": batch},
    }
    diversity = health.diversity_series(list(timeline), 8) if timeline else ([], [])
    return cfg, columns.__getitem__, diversity


def titles(snap):
    return [h.title for h in health.check(*snap)]


def test_healthy_run_gets_one_ok_hint():
    hints = health.check(*snapshot())
    assert [h.level for h in hints] == ["ok"]
    assert "loss_D 0.600" in hints[0].evidence


def test_too_few_steps_is_too_early():
    assert titles(snapshot(n=10)) == ["Too early to judge"]


def test_d_loss_collapsing_to_zero_is_flagged():
    snap = snapshot(loss_D=0.02, D_G_z=0.01, loss_G=4.0)
    hint = next(h for h in health.check(*snap) if h.level == "warning")
    assert hint.title == "D's loss is collapsing to 0" and "D(G(z)) 0.010" in hint.evidence


def test_summed_losses_are_judged_per_example():
    # the chapter sums BCE over a batch of 256: 0.6 * 256 is a healthy loss, not a diverging one
    assert titles(snapshot(loss_D=0.6 * 256, loss_G=0.9 * 256, reduction="sum", batch=256)) == [
        "No classic failure in sight"
    ]
    collapsed = snapshot(loss_D=0.02 * 256, D_G_z=0.01, reduction="sum", batch=256)
    assert "D's loss is collapsing to 0" in titles(collapsed)


def test_g_loss_climbing_is_flagged_and_flat_noise_is_not():
    rising = np.linspace(1.0, 4.0, 400)
    assert "G's loss keeps climbing" in titles(snapshot(n=400, loss_G=rising))
    rng = np.random.default_rng(0)
    noisy_flat = 2.0 + rng.normal(0, 0.3, 400)
    assert "G's loss keeps climbing" not in titles(snapshot(n=400, loss_G=noisy_flat))


def frames(diversities, n=16, tile=8):
    """Timeline grids whose samples spread by the given amounts around mid-grey."""
    out = []
    for i, spread in enumerate(diversities):
        g = torch.Generator().manual_seed(i)
        imgs = (torch.rand(n, 3, tile, tile, generator=g) * 2 - 1) * spread
        out.append((i * 50 + 1, grid_array(imgs)))
    return out


def test_grid_tiles_recover_the_images_of_a_grid():
    imgs = torch.rand(10, 3, 8, 8) * 2 - 1
    tiles = health.grid_tiles(grid_array(imgs, nrow=4), 8)
    assert tiles.shape == (10, 8, 8, 3)  # the two empty cells of the last row are dropped
    assert np.array_equal(tiles[3], ((imgs[3].permute(1, 2, 0) + 1) * 127.5).round().byte())


def test_diversity_falling_is_mode_collapse():
    timeline = frames([0.05, 0.5, 0.9, 0.9, 0.6, 0.3, 0.15, 0.1])
    hints = health.check(*snapshot(timeline=timeline))
    collapse = next(h for h in hints if h.title.startswith("Sample diversity is falling"))
    assert "down from" in collapse.evidence


def test_diversity_rising_as_training_starts_is_not_collapse():
    timeline = frames([0.02, 0.2, 0.5, 0.8, 0.9, 0.9])
    assert titles(snapshot(timeline=timeline)) == ["No classic failure in sight"]


def test_diversity_of_identical_samples_is_zero():
    same = np.repeat(np.full((1, 8, 8, 3), 90, np.uint8), 5, axis=0)
    assert health.diversity(same) == 0.0
    assert health.diversity(same[:1]) == 0.0


@pytest.mark.parametrize("reduction,batch,expect", [("mean", 64, 0.5), ("sum", 4, 0.5)])
def test_per_example(reduction, batch, expect):
    v = [0.5] if reduction == "mean" else [2.0]
    assert health.per_example(v, reduction, batch)[0] == pytest.approx(expect)
    assert math.isclose(health.per_example([], reduction, batch).size, 0)

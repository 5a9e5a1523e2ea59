"""The teaching engines behind the pages: the 2-D GAN, checked layer tables, chart helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dcgan import architecture, gan2d, plots
from dcgan.config import ConfigError, ModelConfig, preset
from tests.helpers import CHAPTER_G_SHAPES


def test_2d_gan_learns_the_chapter_gaussian():
    frames = gan2d.train(gan2d.Gan2DConfig(epochs=12))
    assert [f.epoch for f in frames] == list(range(13))
    real_mu, real_cov = gan2d.moments(gan2d.real_data(gan2d.Gan2DConfig()).numpy())
    start = np.linalg.norm(frames[0].fake.mean(0) - real_mu)
    end = np.linalg.norm(frames[-1].fake.mean(0) - real_mu)
    assert start > 1.5 and end < 0.6 * start, (start, end)
    # G's cloud takes on the data's tilt: x2 grows with x1, as in the data
    _, fake_cov = gan2d.moments(frames[-1].fake)
    assert real_cov[0, 1] > 0 and fake_cov[0, 1] > 0
    # near equilibrium D's per-example losses approach ln 2
    assert abs(frames[-1].loss_D - np.log(2)) < 0.15


def test_2d_gan_surface_covers_the_data_and_is_a_probability():
    gan = gan2d.Gan2D()
    xs, ys, p = gan.surface()
    assert p.shape == (len(ys), len(xs)) == (60, 60)
    assert ((p >= 0) & (p <= 1)).all()
    d = gan.data.numpy()
    assert xs[0] < d[:, 0].min() and xs[-1] > d[:, 0].max()
    assert ys[0] < d[:, 1].min() and ys[-1] > d[:, 1].max()


def test_2d_gan_replays_exactly_from_its_seed():
    a = gan2d.train(gan2d.Gan2DConfig(epochs=2, seed=5))
    b = gan2d.train(gan2d.Gan2DConfig(epochs=2, seed=5))
    assert np.array_equal(a[-1].fake, b[-1].fake) and a[-1].loss_G == b[-1].loss_G


def test_2d_gan_leaves_the_process_thread_count_alone(monkeypatch):
    """The page trains in a script thread; torch's thread count is the process's, set once."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = set()
        real_step = gan2d.Gan2D.step

        def step(self, X):
            seen.add(torch.get_num_threads())
            return real_step(self, X)

        monkeypatch.setattr(gan2d.Gan2D, "step", step)
        gan2d.Gan2D(gan2d.Gan2DConfig(n_real=64)).train_epoch()
        assert seen == {2} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_2d_gan_starting_state_already_shows_the_three_things():
    """Epoch 0: real points spread out, G's cloud collapsed near one point, D undecided."""
    f = gan2d.Gan2D().frame()
    assert f.epoch == 0 and f.real.shape == f.fake.shape == (100, 2)
    real_spread = np.linalg.norm(f.real - f.real.mean(0), axis=1).max()
    fake_spread = np.linalg.norm(f.fake - f.fake.mean(0), axis=1).max()
    assert fake_spread < 0.05 * real_spread  # N(0, 0.02) weights: one spot, not a cloud
    assert abs(f.surface - 0.5).max() < 0.05  # D cannot tell real from fake yet


def test_2d_gan_refuses_bad_settings_by_name():
    with pytest.raises(ConfigError, match="gan2d.lr_D"):
        gan2d.Gan2DConfig(lr_D=0).validate()
    with pytest.raises(ConfigError, match="batch_size=2000"):
        gan2d.Gan2DConfig(batch_size=2000).validate()


@pytest.mark.parametrize("size", [32, 64, 128])
def test_layer_tables_agree_with_the_formulas(size):
    g, d = architecture.tables(ModelConfig(image_size=size, ngf=8, ndf=8))
    assert all(r["agrees"] for r in g + d)
    assert g[-1]["shape"] == (1, 3, size, size) and d[-1]["shape"] == (1, 1, 1, 1)
    assert g[1]["formula"] == "1*(1-1) + 4 - 2*0 = 4"  # the chapter's 1x1 -> 4x4


def test_layer_table_of_the_chapter_model():
    g, _ = architecture.tables(preset("d2l").model)
    assert [r["shape"][1:] for r in g][:6] == CHAPTER_G_SHAPES


def test_smoothing_is_debiased_and_downsampling_keeps_the_ends():
    assert np.allclose(plots.smooth([3.0] * 50, 0.9), 3.0)  # no pull towards 0 at the start
    assert np.array_equal(plots.smooth([1.0, 5.0], 0.0), [1.0, 5.0])
    idx = plots.downsample_index(10_000, 600)
    assert len(idx) <= 600 and idx[0] == 0 and idx[-1] == 9_999
    assert np.array_equal(plots.downsample_index(5), np.arange(5))


def test_live_charts_stay_small_for_long_runs():
    steps = np.arange(1, 20_001)
    fig = plots.loss_figure(steps, np.ones(20_000), np.ones(20_000), smoothing=0.6)
    assert all(len(t.x) <= plots.MAX_POINTS for t in fig.data)
    assert fig.data[-1].x[-1] == 20_000

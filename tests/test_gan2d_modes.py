"""Mode collapse on the 2-D page: the mixtures, the coverage count, KL and JS, and a collapse
setting that collapses while the default setting covers the ring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dcgan import gan2d, mode_plots, plots
from dcgan.config import ConfigError


@pytest.fixture(autouse=True)
def one_thread():
    """The app runs these tiny MLPs on one thread (ui sets it); on a busy 2-core machine two
    threads make each step many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_ring_is_covered_by_default_and_collapses_under_the_collapse_setting():
    healthy = gan2d.train(gan2d.mixture_config("ring", seed=0))
    collapsed = gan2d.train(gan2d.mixture_config("ring", collapse=True, seed=0))
    assert healthy[-1].covered >= 7, healthy[-1].mode_counts
    assert collapsed[-1].covered <= 2, collapsed[-1].mode_counts
    # the divergences tell the same story: collapse leaves most real mass unmatched
    assert collapsed[-1].kl > 2 * healthy[-1].kl
    assert collapsed[-1].js > healthy[-1].js + 0.2
    assert collapsed[-1].js <= math.log(2) + 1e-9


def test_mixture_data_sit_on_their_modes():
    for data, k in (("ring", 8), ("grid", 25)):
        cfg = gan2d.mixture_config(data, n_real=5000)
        x = gan2d.real_data(cfg).numpy()
        counts = gan2d.mode_counts(cfg, x)
        assert len(counts) == k
        assert counts.sum() > 0.98 * len(x), "almost every real point is within 3 sd of a mode"
        assert gan2d.covered(counts, len(x)) == k
        assert counts.min() > 0.5 * len(x) / k, "modes are drawn uniformly"


def test_coverage_counts_only_the_modes_a_sample_set_reaches():
    cfg = gan2d.mixture_config("ring")
    centres, _ = gan2d.modes(cfg)
    rng = np.random.default_rng(0)
    two = centres[[0, 4]][rng.integers(0, 2, 1000)] + 0.05 * rng.standard_normal((1000, 2))
    counts = gan2d.mode_counts(cfg, two)
    assert gan2d.covered(counts, len(two)) == 2 and counts[0] + counts[4] == 1000
    between = np.zeros((1000, 2))  # the ring's centre: far from every mode
    assert gan2d.mode_counts(cfg, between).sum() == 0


def test_kl_and_js_are_small_for_real_samples_and_large_for_a_collapsed_set():
    cfg = gan2d.mixture_config("ring")
    div = gan2d.Divergence(cfg, gan2d.Gan2D(cfg).extent)
    assert div.p.sum() == pytest.approx(1.0)
    floor_kl, floor_js = gan2d.divergence_floor(cfg)
    assert floor_kl < 0.2 and floor_js < 0.05
    centres, _ = gan2d.modes(cfg)
    one_mode = centres[0] + 0.1 * np.random.default_rng(0).standard_normal((2000, 2))
    kl, js = div(one_mode)
    assert kl > math.log(8) - 0.3, "missing 7 of 8 equal modes costs about ln 8 nats or more"
    assert 0.4 < js <= math.log(2)


def test_the_chapter_gaussian_is_one_mode_with_the_data_moments():
    cfg = gan2d.Gan2DConfig()
    centres, cov = gan2d.modes(cfg)
    assert centres.shape == (1, 2)
    real_mu, real_cov = gan2d.moments(gan2d.real_data(Gan2DConfig_big()).numpy())
    assert np.allclose(centres[0], real_mu, atol=0.1) and np.allclose(cov, real_cov, atol=0.15)
    f = gan2d.Gan2D(cfg).frame()
    assert len(f.mode_counts) == 1 and f.covered in (0, 1)


def Gan2DConfig_big() -> gan2d.Gan2DConfig:  # noqa: N802
    """The chapter's Gaussian with enough points to estimate its moments closely."""
    return gan2d.Gan2DConfig(n_real=20_000)


def test_a_mixture_replays_exactly_from_its_seed():
    a = gan2d.train(gan2d.mixture_config("grid", epochs=1, seed=3))
    b = gan2d.train(gan2d.mixture_config("grid", epochs=1, seed=3))
    assert np.array_equal(a[-1].fake, b[-1].fake)
    assert a[-1].mode_counts == b[-1].mode_counts and a[-1].kl == b[-1].kl


def test_unknown_data_is_refused_by_name():
    with pytest.raises(ConfigError, match="gan2d.data='rings'"):
        gan2d.Gan2DConfig(data="rings").validate()


def test_mode_figures_mark_covered_and_missed_modes():
    cfg = gan2d.mixture_config("ring", epochs=1)
    frames = gan2d.train(cfg)
    fig = mode_plots.mark_modes(plots.gan2d_figure(frames[-1]), cfg, frames[-1])
    circles = [s for s in fig.layout.shapes if s.type == "circle"]
    assert len(circles) == 8
    green = sum(s.line.color == mode_plots.COVERED for s in circles)
    assert green == frames[-1].covered
    div = mode_plots.divergence_figure(frames, 8, (0.1, 0.01))
    assert [t.name for t in div.data] == ["covered", "KL", "JS"]
    bars = mode_plots.mode_count_figure(cfg, frames[-1])
    assert list(bars.data[0].y) == list(frames[-1].mode_counts)


def test_the_cli_prints_coverage_and_divergences_per_seed(capsys):
    assert gan2d.main(["--data", "grid", "--collapse", "--seeds", "3", "--epochs", "1"]) == 0
    line = capsys.readouterr().out.splitlines()[-1].split()
    assert line[0] == "3" and line[2:4] == ["of", "25"]
    assert 0 < float(line[5]) <= math.log(2), "JS is a divergence in nats, at most ln 2"

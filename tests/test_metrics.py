"""The sliced Wasserstein distance: it separates real from fake and repeats from a seed."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from dcgan import metrics
from dcgan.checkpoint import export_generator
from dcgan.config import ModelConfig
from dcgan.data import decode_image, load
from dcgan.models import build

N = 384  # images per set: enough to separate the cases, quick on 2 cores
# fewer patches and directions than the paper (64 per image, 128 directions): 8x quicker,
# and the cases below still sit an order of magnitude apart
FAST = dict(nhoods_per_image=64, dir_repeats=1)


@pytest.fixture(scope="module")
def shapes_split():
    """Two disjoint random halves of the built-in shapes at 32x32 (two pyramid levels)."""
    real = load("shapes", 32).images
    perm = torch.randperm(len(real), generator=torch.Generator().manual_seed(1))
    return real[perm[:N]], real[perm[N : 2 * N]]


def test_pyramid_matches_the_papers_filters():
    """The fast polyphase pyramid gives the paper's pyrDown/pyrUp (full blur) numbers."""
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 255
    torch.testing.assert_close(metrics._pyr_down(x), metrics._pyr_down_reference(x))
    small = metrics._pyr_down(x)
    torch.testing.assert_close(metrics._pyr_up(small), metrics._pyr_up_reference(small))


def test_flat_image_has_no_band_pass_detail():
    """A flat grey image: every band-pass level is 0, the 16px residual keeps the grey."""
    levels = metrics.laplacian_pyramid(torch.full((2, 3, 64, 64), 100.0), 3)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]
    assert levels[0].abs().max() < 1e-3 and levels[1].abs().max() < 1e-3
    assert torch.allclose(levels[2], torch.full_like(levels[2], 100.0))


def test_identical_sets_near_zero_and_real_vs_noise_far_above_heldout(shapes_split):
    """identical ~ 0 << real vs held-out real << real vs noise, at every level."""
    a, b = shapes_split
    noise = torch.randint(0, 256, a.shape, dtype=torch.uint8, generator=torch.Generator())
    same = metrics.swd(a, a.clone(), seed=0, **FAST)
    heldout = metrics.swd(a, b, seed=0, **FAST)
    vs_noise = metrics.swd(a, noise, seed=0, **FAST)
    assert same["resolutions"] == [32, 16] and len(same["levels"]) == 2
    assert same["n"] == N and same["scale"] == 1000.0
    # identical sets differ only by which patches were drawn
    assert same["mean"] < 0.25 * vs_noise["mean"]
    assert same["mean"] <= heldout["mean"] * 1.5
    for h, z in zip(heldout["levels"], vs_noise["levels"], strict=True):
        assert z > 5 * h, (heldout, vs_noise)


def test_same_seed_same_figure_other_seed_other_patches(shapes_split):
    """Seeded: a figure repeats exactly; another seed draws other patches and directions."""
    a, b = shapes_split
    r1 = metrics.swd(a[:128], b[:128], seed=3, **FAST)
    r2 = metrics.swd(a[:128], b[:128], seed=3, **FAST)
    r3 = metrics.swd(a[:128], b[:128], seed=4, **FAST)
    assert r1 == r2
    assert r1["levels"] != r3["levels"]


def test_float_images_in_model_range_score_like_their_uint8(shapes_split):
    """Generator output in [-1, 1] and the same pictures as uint8 give the same figure."""
    a, b = shapes_split
    as_float = a[:96].float() / 127.5 - 1
    assert metrics.swd(as_float, b[:96], seed=0, **FAST) == metrics.swd(
        a[:96], b[:96], seed=0, **FAST
    )


def test_unequal_sets_are_cut_to_the_smaller(shapes_split):
    """A bigger set is subsampled so the sorted projections pair one to one."""
    a, b = shapes_split
    assert metrics.swd(a[:100], b[:60], seed=0, **FAST)["n"] == 60


@pytest.mark.parametrize(
    "a, b, match",
    [
        (torch.zeros(4, 3, 32, 32), torch.zeros(4, 3, 64, 64), "differ in shape"),
        (torch.zeros(4, 3, 8, 8), torch.zeros(4, 3, 8, 8), "at least 16px"),
        (torch.zeros(1, 3, 32, 32), torch.zeros(4, 3, 32, 32), "at least 2 images"),
        (torch.zeros(3, 32, 32), torch.zeros(3, 32, 32), r"\(N, C, H, W\)"),
    ],
)
def test_bad_inputs_say_what_is_wrong(a, b, match):
    with pytest.raises(ValueError, match=match):
        metrics.swd(a, b)


def test_cli_scores_an_export_and_baselines(tmp_path, capsys):
    """The CLI prints each level and the mean; a trained-nothing generator is far from real."""
    cfg = ModelConfig(image_size=32, ngf=8, ndf=8)
    G, _ = build(cfg, seed=0)
    path = export_generator(G, cfg, tmp_path / "g.safetensors")
    assert metrics.main(["--checkpoint", str(path), "--real", "shapes", "--n", "96", "--json"]) == 0
    fake = json.loads(capsys.readouterr().out)
    assert fake["resolutions"] == [32, 16] and fake["n"] == 96
    args = ["--real", "shapes", "--size", "32", "--n", "96", "--json"]
    assert metrics.main(["--baseline", "heldout", *args]) == 0
    heldout = json.loads(capsys.readouterr().out)
    assert fake["mean"] > 3 * heldout["mean"]
    assert metrics.main(["--checkpoint", str(path), "--real", "shapes", "--n", "64"]) == 0
    line = capsys.readouterr().out
    assert "32px" in line and "16px" in line and "mean" in line


def test_cli_refuses_bad_input_without_traceback(tmp_path, capsys):
    assert metrics.main(["--checkpoint", str(tmp_path / "nope.pt"), "--real", "shapes"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert metrics.main(["--baseline", "noise", "--real", "no-such-set"]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert metrics.main(["--baseline", "noise", "--real", "shapes", "--n", "1"]) == 2


@pytest.mark.shared
def test_anime_faces_real_vs_noise_far_above_heldout(shared_data):
    """On real anime faces too: a disjoint real split scores far below noise."""
    with zipfile.ZipFile(shared_data / "anime_faces_64.zip") as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".jpg"))[: 2 * N]
        # decode only what the test needs, not all 20k faces
        real = torch.from_numpy(np.stack([decode_image(zf.read(n), 32) for n in names]))
    real = real.permute(0, 3, 1, 2)
    a, b = real[:N], real[N:]
    noise = torch.randint(0, 256, a.shape, dtype=torch.uint8, generator=torch.Generator())
    heldout, vs_noise = metrics.swd(a, b, seed=0, **FAST), metrics.swd(a, noise, seed=0, **FAST)
    assert vs_noise["mean"] > 5 * heldout["mean"], (heldout, vs_noise)

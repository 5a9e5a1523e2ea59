"""Latent maths and teaching maths shared by both UIs, checked against first principles."""

import itertools

import numpy as np
import pytest
import torch

from dcgan.explain import (
    ShapeError,
    conv_out,
    conv_transpose_out,
    leaky_relu,
    leaky_relu_grad,
    transposed_scatter,
)
from dcgan.latent import (
    interpolate,
    jitter,
    lerp,
    random_walk,
    sample_z,
    slerp,
    vector_arithmetic,
)


def test_sample_z_is_reproducible_by_seed_and_generator():
    assert torch.equal(sample_z(4, 100, 7), sample_z(4, 100, 7))
    assert not torch.equal(sample_z(4, 100, 7), sample_z(4, 100, 8))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(sample_z(2, 10, g1), sample_z(2, 10, g2))


def test_interpolation_endpoints_and_norms():
    z = sample_z(2, 100, 0)
    for mode in ("lerp", "slerp"):
        path = interpolate(z[0], z[1], 9, mode)
        assert path.shape == (9, 100, 1, 1)
        assert torch.allclose(path[0], z[0], atol=1e-5) and torch.allclose(
            path[-1], z[1], atol=1e-5
        )
    mid_lerp = lerp(z[0], z[1], 0.5).norm()
    mid_slerp = slerp(z[0], z[1], 0.5).norm()
    ends = (z[0].norm() + z[1].norm()) / 2
    # two random 100-d vectors are nearly orthogonal: lerp's midpoint shrinks by ~1/sqrt(2)
    assert mid_lerp < 0.8 * ends
    assert abs(mid_slerp - ends) < 0.1 * ends


def test_vector_arithmetic_is_mean_a_minus_mean_b_plus_mean_c():
    a, b, c = (sample_z(3, 8, s) for s in (1, 2, 3))
    got = vector_arithmetic(a, b, c)
    want = a.mean(0) - b.mean(0) + c.mean(0)
    assert torch.allclose(got[0], want)
    assert torch.allclose(vector_arithmetic(a, b, c, (0.0, 0.0, 1.0))[0], c.mean(0))


def test_jitter_and_walk_shapes_and_seeds():
    z = sample_z(1, 16, 0)
    j = jitter(z, 5, scale=0.1, seed=1)
    assert j.shape == (5, 16, 1, 1) and (j - z).abs().max() < 1.0
    w = random_walk(16, 30, seed=2)
    assert w.shape == (30, 16, 1, 1) and torch.equal(w, random_walk(16, 30, seed=2))
    steps = (w[1:] - w[:-1]).flatten(1).norm(dim=1)
    assert steps.max() < 1.5 * 16**0.5 / 2, "a walk moves in small steps, not jumps"


@pytest.mark.parametrize(
    "n, k, s, p, d", list(itertools.product([5, 16], [1, 3, 4], [1, 2], [0, 1], [1, 2]))
)
def test_conv_formula_matches_pytorch(n, k, s, p, d):
    conv = torch.nn.Conv2d(1, 1, k, s, p, dilation=d)
    try:
        want = conv(torch.zeros(1, 1, n, n)).shape[-1]
    except RuntimeError:
        with pytest.raises(ShapeError):
            conv_out(n, k, s, p, d)
        return
    got = conv_out(n, k, s, p, d)
    assert got.out == want and got.substituted.endswith(f"= {want}")


@pytest.mark.parametrize(
    "n, k, s, p, op",
    [(1, 4, 1, 0, 0), (4, 4, 2, 1, 0), (16, 4, 2, 1, 0), (3, 3, 2, 1, 1), (5, 2, 3, 0, 2)],
)
def test_transposed_formula_matches_pytorch(n, k, s, p, op):
    layer = torch.nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op)
    want = layer(torch.zeros(1, 1, n, n)).shape[-1]
    assert conv_transpose_out(n, k, s, p, op).out == want


def test_chapter_forms_agree_for_the_generator_blocks():
    r = conv_transpose_out(16, 4, 2, 1)
    assert r.out == 32 and r.alt_substituted.endswith("= 32")  # s(n-1) + k - 2p
    assert conv_transpose_out(1, 4, 1, 0).out == 4


def test_scatter_counts_every_tap_and_shows_overlap():
    sc = transposed_scatter(3, 4, 2, 1)
    assert sc.coverage.sum() == 3 * 4  # every input pixel writes k taps
    assert sc.full_size == 8 and sc.out_size == 6
    assert sc.coverage.max() == 2  # k=4, s=2: neighbouring kernels overlap by 2
    gaps = transposed_scatter(3, 1, 3).coverage
    assert (gaps == 0).sum() == 4  # stride 3, k 1: two zero gaps between three pixels


def test_leaky_relu_and_its_gradient():
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    assert np.allclose(leaky_relu(x, 0.2), [-0.4, -0.1, 0.5, 2.0])
    assert np.allclose(leaky_relu_grad(x, 0.0), [0, 0, 1, 1])  # ReLU: no gradient for x < 0
    assert np.allclose(leaky_relu(x, 1.0), x)

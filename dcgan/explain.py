"""Teaching maths shared by the Streamlit pages and the Space: convolution shape arithmetic,
how a transposed convolution scatters its input, and LeakyReLU with its derivative.

Pure functions on numbers and numpy arrays; no UI imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .i18n import _

CHAPTER_ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the d2l chapter's LeakyReLU plot


class ShapeError(ValueError):
    """Conv arithmetic inputs that give no valid output; the message says which."""


@dataclass(frozen=True)
class ConvArithmetic:
    """One layer's output size with the formula written out, numbers substituted."""

    out: int
    formula: str  # general form, as in the chapter
    substituted: str  # the same with the numbers in
    alt_formula: str = ""  # the chapter's second form (stride-2, k4, p1 simplification)
    alt_substituted: str = ""


def _check(n, k, s, p, d, op=0):
    for name, v, lo in (("n", n, 1), ("k", k, 1), ("s", s, 1), ("p", p, 0), ("d", d, 1)):
        if not isinstance(v, (int, np.integer)) or v < lo or v > 4096:
            raise ShapeError(
                _("{name}={value} must be a whole number from {lo} to 4096.").format(
                    name=name, value=repr(v), lo=lo
                )
            )
    if not 0 <= op < max(s, d):
        raise ShapeError(
            _("output padding {op} must be smaller than the stride or dilation.").format(op=op)
        )


def conv_out(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> ConvArithmetic:
    """Conv2d output size: floor((n + 2p - d(k-1) - 1) / s) + 1."""
    _check(n, k, s, p, d)
    eff = d * (k - 1) + 1
    out = (n + 2 * p - eff) // s + 1
    if out < 1:
        raise ShapeError(
            _(
                "the kernel (effective size {eff}) is larger than the padded input ({padded}): "
                "lower k or d, or add padding."
            ).format(eff=eff, padded=n + 2 * p)
        )
    sub = f"floor(({n} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1 = {out}"
    alt = f"floor(({n} - {k} + 2*{p} + {s}) / {s}) = {(n - k + 2 * p + s) // s}" if d == 1 else ""
    return ConvArithmetic(
        out=out,
        formula="floor((n + 2p - d(k-1) - 1) / s) + 1",
        substituted=sub,
        alt_formula="floor((n - k + 2p + s) / s)" if d == 1 else "",
        alt_substituted=alt,
    )


def conv_transpose_out(
    n: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1
) -> ConvArithmetic:
    """ConvTranspose2d output size: (n-1)s - 2p + d(k-1) + op + 1; the chapter's s(n-1)+k-2p."""
    _check(n, k, s, p, d, op)
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ShapeError(
            _("padding {p} crops away the whole output; lower the padding.").format(p=p)
        )
    sub = f"({n}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {out}"
    simple = d == 1 and op == 0
    return ConvArithmetic(
        out=out,
        formula="(n-1)s - 2p + d(k-1) + output_padding + 1",
        substituted=sub,
        alt_formula="s(n-1) + k - 2p" if simple else "",
        alt_substituted=f"{s}*({n}-1) + {k} - 2*{p} = {s * (n - 1) + k - 2 * p}" if simple else "",
    )


@dataclass(frozen=True)
class Scatter:
    """How a 1-D transposed conv places each input pixel's kernel in the output."""

    full_size: int  # before the padding crop
    out_size: int  # after it
    crop: int  # pixels removed at each end (= padding)
    starts: tuple[int, ...]  # where input pixel i's kernel starts, in full coordinates
    coverage: np.ndarray  # (full_size,) how many kernels write each output pixel


def transposed_scatter(n: int, k: int, s: int, p: int = 0, d: int = 1) -> Scatter:
    """Input pixel i writes k taps at i*s + j*d (j < k); padding then crops p from each end."""
    _check(n, k, s, p, d)
    full = (n - 1) * s + d * (k - 1) + 1
    coverage = np.zeros(full, dtype=np.int64)
    starts = tuple(i * s for i in range(n))
    for st in starts:
        coverage[st : st + d * (k - 1) + 1 : d] += 1
    out = full - 2 * p
    if out < 1:
        raise ShapeError(
            _("padding {p} crops away the whole output; lower the padding.").format(p=p)
        )
    return Scatter(full_size=full, out_size=out, crop=p, starts=starts, coverage=coverage)


def scatter_grid(n: int, k: int, s: int, p: int = 0) -> np.ndarray:
    """2-D overlap counts (full x full) for an n x n input: the picture of stride gaps,
    kernel overlaps and (via the crop) padding."""
    c = transposed_scatter(n, k, s, p).coverage
    return np.outer(c, c)


def leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    """max(0, x) + alpha * min(0, x)."""
    return np.where(x > 0, x, alpha * x)


def leaky_relu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    """1 for x > 0, alpha otherwise: with alpha = 0 (ReLU) a negative input passes no gradient."""
    return np.where(x > 0, 1.0, alpha)


def dead_fraction(pre_activations: np.ndarray, alpha: float) -> float:
    """Share of units whose gradient is exactly zero for every input (a dead unit)."""
    if alpha > 0:
        return 0.0
    x = np.asarray(pre_activations)
    return float((x <= 0).all(axis=0).mean())

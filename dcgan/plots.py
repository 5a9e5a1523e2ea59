"""Plotly figures shared by the Streamlit pages and the Space (plotly is not a UI framework,
so both can import it; the engine's training code never does)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .explain import CHAPTER_ALPHAS, leaky_relu, leaky_relu_grad, transposed_scatter


def leaky_relu_figure(
    alphas=CHAPTER_ALPHAS, current: float | None = None, derivative: bool = False
) -> go.Figure:
    """LeakyReLU (or its derivative) for several alphas; the current D alpha drawn bold."""
    x = np.linspace(-5, 5, 401)
    fig = go.Figure()
    for a in alphas:
        y = leaky_relu_grad(x, a) if derivative else leaky_relu(x, a)
        bold = current is not None and abs(a - current) < 1e-9
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            name=f"α = {a:g}" + (" (D now)" if bold else ""),
            line=dict(width=5 if bold else 2, dash=None if bold else "solid"),
        )
    if current is not None and not any(abs(a - current) < 1e-9 for a in alphas):
        y = leaky_relu_grad(x, current) if derivative else leaky_relu(x, current)
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            name=f"α = {current:g} (D now)",
            line=dict(width=5, color="black"),
        )
    fig.update_layout(
        title="d LeakyReLU / dx" if derivative else "LeakyReLU(x) = max(0, x) + α·min(0, x)",
        xaxis_title="x",
        yaxis_title="gradient" if derivative else "output",
        height=380,
        margin=dict(l=40, r=10, t=50, b=40),
        legend=dict(orientation="h"),
    )
    return fig


def scatter_figure(n: int, k: int, s: int, p: int = 0) -> go.Figure:
    """Heatmap of how many kernel taps write each output pixel of an n x n transposed conv,
    with the padding crop drawn as a box."""
    sc = transposed_scatter(n, k, s, p)
    grid = np.outer(sc.coverage, sc.coverage)
    fig = go.Figure(go.Heatmap(z=grid, colorscale="Blues", colorbar=dict(title="writes")))
    if p:
        lo, hi = p - 0.5, sc.full_size - p - 0.5
        fig.add_shape(type="rect", x0=lo, y0=lo, x1=hi, y1=hi, line=dict(color="red", width=3))
    fig.update_layout(
        title=f"{n}x{n} input, k={k}, s={s}: {sc.full_size}x{sc.full_size} before the crop, "
        f"{sc.out_size}x{sc.out_size} inside the red box (p={p})",
        yaxis=dict(autorange="reversed", scaleanchor="x"),
        height=420,
        margin=dict(l=30, r=10, t=50, b=30),
    )
    return fig


def norm_figure(norms: dict[str, np.ndarray], nz: int) -> go.Figure:
    """‖z‖ along interpolation paths, with the prior's typical norm sqrt(nz) marked."""
    fig = go.Figure()
    for name, values in norms.items():
        fig.add_scatter(x=np.linspace(0, 1, len(values)), y=values, mode="lines+markers", name=name)
    fig.add_hline(y=float(np.sqrt(nz)), line_dash="dot", annotation_text="√nz (typical ‖z‖)")
    fig.update_layout(
        xaxis_title="t", yaxis_title="‖z‖", height=300, margin=dict(l=40, r=10, t=30, b=40)
    )
    return fig

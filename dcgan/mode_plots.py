"""Plotly figures for mode collapse: the 2-D mixtures' modes, coverage and divergences, and the
DCGAN's shape x colour class coverage over training. Kept apart from dcgan/plots.py, which every
page shares."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import gan2d, plots

COVERED, MISSED = "#2ca02c", "#7f7f7f"


def mark_modes(fig: go.Figure, cfg: gan2d.Gan2DConfig, frame: gan2d.Frame) -> go.Figure:
    """Circle each mode at COVER_SIGMAS: green when G covers it in this frame, grey if not."""
    centres, cov = gan2d.modes(cfg)
    if len(centres) < 2 or not frame.mode_counts:
        return fig
    r = gan2d.COVER_SIGMAS * math.sqrt(cov[0, 0])
    need = gan2d.cover_need(cfg.n_eval, len(centres))
    for (x, y), n in zip(centres, frame.mode_counts, strict=True):
        hit = n >= need
        fig.add_shape(
            type="circle",
            x0=x - r,
            x1=x + r,
            y0=y - r,
            y1=y + r,
            line=dict(color=COVERED if hit else MISSED, width=2, dash="solid" if hit else "dot"),
        )
    fig.update_layout(
        title=f"Epoch {frame.epoch}: G covers {frame.covered} of {len(centres)} modes "
        "(green circles), D's decision surface behind"
    )
    return fig


def mode_count_figure(cfg: gan2d.Gan2DConfig, frame: gan2d.Frame) -> go.Figure:
    """G's samples per mode, against the fair share a perfect G gives each and the bar a mode
    must clear to count as covered."""
    k = len(frame.mode_counts)
    fair = cfg.n_eval / k
    need = gan2d.cover_need(cfg.n_eval, k)
    fig = go.Figure(
        go.Bar(
            x=[str(i + 1) for i in range(k)],
            y=list(frame.mode_counts),
            marker_color=[COVERED if n >= need else MISSED for n in frame.mode_counts],
            name="G's samples",
        )
    )
    fig.add_hline(y=fair, line_dash="dot", annotation_text="fair share")
    fig.add_hline(y=need, line_dash="dash", line_color=MISSED, annotation_text="covered above")
    title = f"Where {cfg.n_eval:,} samples of G land, per mode (epoch {frame.epoch})"
    return plots.axes_layout(fig, title, "mode", "samples within 3 sd", 300)


def divergence_figure(
    frames: list[gan2d.Frame], n_modes: int, floor: tuple[float, float] | None = None
) -> go.Figure:
    """Modes covered, KL(real || G) and JS by epoch, one panel each, sharing the epoch axis."""
    fr = [f for f in frames if not math.isnan(f.kl)]
    ep = [f.epoch for f in fr]
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("modes covered", "KL(real ‖ G), nats", "JS(real, G), nats"),
    )
    fig.add_scatter(x=ep, y=[f.covered for f in fr], name="covered", row=1, col=1)
    fig.add_scatter(x=ep, y=[f.kl for f in fr], name="KL", row=2, col=1)
    fig.add_scatter(x=ep, y=[f.js for f in fr], name="JS", row=3, col=1)
    fig.update_yaxes(range=[0, n_modes + 0.5], row=1, col=1)
    fig.add_hline(
        y=float(np.log(2)), line_dash="dot", annotation_text="ln 2: disjoint", row=3, col=1
    )
    if floor is not None:
        for row, value in ((2, floor[0]), (3, floor[1])):
            fig.add_hline(
                y=value,
                line_dash="dash",
                line_color=COVERED,
                annotation_text="perfect G",
                row=row,
                col=1,
            )
    fig.update_xaxes(title_text="epoch", row=3, col=1)
    fig.update_layout(height=520, showlegend=False, margin=plots.MARGIN)
    return fig


def class_coverage_figure(rows: list, n_classes: int) -> go.Figure:
    """Shape x colour classes a DCGAN draws at each kept step, and the share of its samples
    the classifier cannot read (early blobs): rows of (step, coverage.ClassCoverage)."""
    steps = [s for s, _ in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=steps, y=[c.covered for _, c in rows], name="classes covered", mode="lines+markers"
    )
    fig.add_scatter(
        x=steps,
        y=[100 * c.unreadable / max(1, c.n) for _, c in rows],
        name="unreadable samples, %",
        line=dict(dash="dot", color=MISSED),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="classes covered", range=[0, n_classes + 0.5], secondary_y=False)
    fig.update_yaxes(title_text="unreadable, %", range=[0, 100], secondary_y=True, showgrid=False)
    fig.update_layout(
        title=f"Shape × colour classes G draws, of {n_classes}",
        xaxis_title="step",
        height=320,
        margin=plots.MARGIN,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def class_counts_figure(cov, shapes: tuple[str, ...], colours: tuple[str, ...], step) -> go.Figure:
    """A shapes x colours heatmap of one grid's samples per class, zeros (missed classes)
    stand out in white."""
    fig = go.Figure(
        go.Heatmap(
            z=cov.counts,
            x=list(colours),
            y=list(shapes),
            text=cov.counts,
            texttemplate="%{text}",
            colorscale="Greens",
            zmin=0,
            colorbar=dict(title="samples"),
        )
    )
    fig.update_layout(
        title=f"Step {step}: G's samples per class",
        height=320,
        margin=plots.MARGIN,
    )
    return fig

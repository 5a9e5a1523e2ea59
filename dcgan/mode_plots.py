"""Plotly figures for mode collapse: the 2-D mixtures' modes, coverage and divergences, and the
DCGAN's shape x colour class coverage over training. Kept apart from dcgan/plots.py, which every
page shares."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import gan2d, plots
from .coverage import shown_word
from .i18n import _, number

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
        title=_(
            "Epoch {epoch}: G covers {covered} of {modes} modes (green circles), D's decision "
            "surface behind"
        ).format(epoch=frame.epoch, covered=frame.covered, modes=len(centres))
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
            name=_("G's samples"),
        )
    )
    fig.add_hline(y=fair, line_dash="dot", annotation_text=_("fair share"))
    fig.add_hline(y=need, line_dash="dash", line_color=MISSED, annotation_text=_("covered above"))
    title = _("Where {n} samples of G land, per mode (epoch {epoch})").format(
        n=number(cfg.n_eval), epoch=frame.epoch
    )
    return plots.axes_layout(fig, title, _("mode"), _("samples within 3 sd"), 300)


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
        subplot_titles=(_("modes covered"), _("KL(real ‖ G), nats"), _("JS(real, G), nats")),
    )
    fig.add_scatter(x=ep, y=[f.covered for f in fr], name=_("covered"), row=1, col=1)
    fig.add_scatter(x=ep, y=[f.kl for f in fr], name="KL", row=2, col=1)
    fig.add_scatter(x=ep, y=[f.js for f in fr], name="JS", row=3, col=1)
    fig.update_yaxes(range=[0, n_modes + 0.5], row=1, col=1)
    fig.add_hline(
        y=float(np.log(2)), line_dash="dot", annotation_text=_("ln 2: disjoint"), row=3, col=1
    )
    if floor is not None:
        for row, value in ((2, floor[0]), (3, floor[1])):
            fig.add_hline(
                y=value,
                line_dash="dash",
                line_color=COVERED,
                annotation_text=_("perfect G"),
                row=row,
                col=1,
            )
    fig.update_xaxes(title_text=_("epoch"), row=3, col=1)
    fig.update_layout(height=520, showlegend=False, margin=plots.MARGIN)
    return fig


def class_coverage_figure(rows: list, n_classes: int) -> go.Figure:
    """Shape x colour classes a DCGAN draws at each kept step, and the share of its samples
    the classifier cannot read (early blobs): rows of (step, coverage.ClassCoverage)."""
    steps = [s for s, __ in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=steps, y=[c.covered for __, c in rows], name=_("classes covered"), mode="lines+markers"
    )
    fig.add_scatter(
        x=steps,
        y=[100 * c.unreadable / max(1, c.n) for __, c in rows],
        name=_("unreadable samples, %"),
        line=dict(dash="dot", color=MISSED),
        secondary_y=True,
    )
    fig.update_yaxes(title_text=_("classes covered"), range=[0, n_classes + 0.5], secondary_y=False)
    fig.update_yaxes(
        title_text=_("unreadable, %"), range=[0, 100], secondary_y=True, showgrid=False
    )
    fig.update_layout(
        title=_("Shape × colour classes G draws, of {n}").format(n=n_classes),
        xaxis_title=_("step"),
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
            x=[shown_word(c) for c in colours],
            y=[shown_word(s) for s in shapes],
            text=cov.counts,
            texttemplate="%{text}",
            colorscale="Greens",
            zmin=0,
            colorbar=dict(title=_("samples")),
        )
    )
    fig.update_layout(
        title=_("Step {step}: G's samples per class").format(step=number(step)),
        height=320,
        margin=plots.MARGIN,
    )
    return fig

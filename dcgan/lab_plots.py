"""Plotly figures for the teaching lab's pages (memorisation, inside the networks), kept apart
from dcgan/plots.py so the lab can grow without touching the figures every page shares."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .i18n import _
from .memorisation import REF_PERCENTILE, DistanceReport


def nn_distance_figure(r: DistanceReport) -> go.Figure:
    """Two histograms on one axis: generated-to-train and held-out-to-train nearest distances,
    with the held-out 5th percentile marked. Copies pile up left of the line."""
    top = float(max(np.max(r.generated), np.max(r.heldout), 1e-9))
    bins = dict(start=0.0, end=top * 1.02, size=top / 40)
    fig = go.Figure()
    for name, values, colour in (
        (_("held-out → train"), r.heldout, "#7f7f7f"),
        (_("generated → train"), r.generated, "#d62728" if r.flagged else "#1f77b4"),
    ):
        fig.add_trace(
            go.Histogram(
                x=values,
                name=_("{name} (n = {n})").format(name=name, n=len(values)),
                xbins=bins,
                histnorm="probability",
                marker_color=colour,
                opacity=0.6,
            )
        )
    fig.add_vline(
        x=r.threshold,
        line_dash="dash",
        line_color="black",
        annotation_text=_("held-out {p}th percentile").format(p=f"{REF_PERCENTILE:g}"),
        annotation_position="top right",
    )
    fig.update_layout(
        title=_("Distance to the nearest training image ({space})").format(space=_(r.space)),
        barmode="overlay",
        xaxis_title=_("RMS distance to the nearest training image"),
        yaxis_title=_("fraction of images"),
        legend=dict(orientation="h", y=-0.25),
        height=360,
    )
    return fig


def dead_units_by_layer_figure(fractions: dict[str, float]) -> go.Figure:
    """One bar per D block: the fraction of its units that never fired on the batch."""
    names = list(fractions)
    values = [fractions[n] for n in names]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            text=[f"{v:.0%}" for v in values],
            textposition="outside",
            marker_color=["#d62728" if v > 0 else "#1f77b4" for v in values],
        )
    )
    fig.update_layout(
        title=_("Dead units in D, per block"),
        yaxis=dict(title=_("fraction of units never active"), range=[0, 1.1], tickformat=".0%"),
        height=320,
    )
    return fig

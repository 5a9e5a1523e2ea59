"""Comparing run folders: each run's quality figure (cached in its folder), the timeline frame
nearest a step, and overlaid plotly charts of several runs. The Compare and Experiments pages
and dcgan.experiments use these, so both UIs could.

The quality figure is the SWD x 10^3 (dcgan.metrics, Karras et al. 2018) of the run's
generator snapshot (generator.safetensors) against real images of the run's own data (its
Fashion-MNIST class filter included), at a small n so one figure costs seconds on a CPU. It is
computed once per snapshot and kept in RUN/quality.json, keyed by the snapshot's mtime and n.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch

from . import runs
from .i18n import _
from .plots import smooth, step_lines_layout

QUALITY = "quality.json"
QUALITY_N = 256  # images per set: seconds on a CPU; enough to rank runs, not to publish
COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def real_images(config: dict, n: int, seed: int = 0) -> torch.Tensor:
    """n real uint8 images of a run's data (source, size, class filter), a seeded subset."""
    from .data import load

    d, m = config.get("data", {}), config.get("model", {})
    classes = tuple(d["classes"]) if d.get("classes") else None
    s = load(d.get("source", "shapes"), int(m.get("image_size", 64)), classes=classes)
    if len(s) > n:
        idx = torch.randperm(len(s), generator=torch.Generator().manual_seed(seed))[:n]
        return s.images[idx]
    return s.images


def quality(run_dir: str | Path, n: int = QUALITY_N, seed: int = 0) -> dict | None:
    """The run's final quality figure, {"swd": mean, "levels", "resolutions", "n", "step"};
    None when the run has no generator snapshot yet. Cached per snapshot in quality.json."""
    from .checkpoint import load_generator, read_metadata
    from .metrics import generated_images, swd

    run_dir = Path(run_dir)
    snap = run_dir / runs.GENERATOR
    try:
        mtime = snap.stat().st_mtime_ns
    except OSError:
        return None
    cached = runs.read_json(run_dir / QUALITY)
    if cached and cached.get("mtime_ns") == mtime and cached.get("n") == n:
        return cached
    config = runs.read_json(run_dir / runs.CONFIG) or {}
    G, mcfg, __ = load_generator(snap)
    step = int(read_metadata(snap).get("step", 0) or 0)
    real = real_images(config, n, seed)
    fake = generated_images(G, mcfg.nz, len(real), seed)
    r = swd(real, fake, seed=seed)
    out = {
        "swd": r["mean"],
        "levels": r["levels"],
        "resolutions": r["resolutions"],
        "n": n,
        "n_used": r["n"],
        "step": step,
        "mtime_ns": mtime,
        "what": "SWD x1e3 of generator.safetensors against the run's real images; lower is closer",
    }
    runs.write_json(run_dir / QUALITY, out)
    return out


def real_baseline(config: dict, n: int = QUALITY_N, seed: int = 0) -> float | None:
    """SWD x 10^3 between two disjoint sets of n real images of a run's data: the figure a
    perfect generator would score at this n, so classes of different variety compare fairly.
    None when the data holds fewer than 2n images."""
    from .metrics import swd

    both = real_images(config, 2 * n, seed)
    if len(both) < 2 * n:
        return None
    return swd(both[:n], both[n:], seed=seed)["mean"]


def cached_quality(run_dir: str | Path) -> dict | None:
    """quality.json as stored, without computing anything (None when absent)."""
    return runs.read_json(Path(run_dir) / QUALITY)


def frame_at(frames: list[tuple[int, Path]], step: int) -> tuple[int, Path] | None:
    """The timeline frame at or before step (the first frame when all are later)."""
    if not frames:
        return None
    best = frames[0]
    for s, p in frames:
        if s <= step:
            best = (s, p)
        else:
            break
    return best


def read_series(run_dir: str | Path, keys: tuple[str, ...]) -> dict[str, tuple[list, list]]:
    """(steps, values) of each metric in keys from a run's metrics.jsonl, downsampled."""
    r = runs.RunReader(run_dir)
    r.update()
    return {k: r.points(k) for k in keys}


def overlay_figure(
    runs_series: dict[str, dict[str, tuple[list, list]]],
    title: str,
    yaxis_title: str,
    smoothing: float = 0.6,
    names: dict[str, str] | None = None,
) -> go.Figure:
    """One colour per run, one dash per metric: {run label: {metric: (steps, values)}}."""
    fig = go.Figure()
    for i, (label, series) in enumerate(runs_series.items()):
        colour = COLOURS[i % len(COLOURS)]
        for j, (metric, (steps, values)) in enumerate(series.items()):
            if not steps:
                continue
            shown = (names or {}).get(metric, metric)
            fig.add_scatter(
                x=list(steps),
                y=smooth(values, smoothing).tolist(),
                mode="lines",
                name=f"{label} · {shown}" if len(series) > 1 else label,
                line=dict(color=colour, dash=DASHES[j % len(DASHES)], width=2),
            )
    return step_lines_layout(fig, title, yaxis_title, height=340)


def loss_overlay(series: dict[str, dict], smoothing: float = 0.6) -> go.Figure:
    """loss_D (solid) and loss_G (dashed) of every run."""
    picked = {k: {m: v[m] for m in ("loss_D", "loss_G") if m in v} for k, v in series.items()}
    return overlay_figure(picked, _("Losses"), _("{name} loss").format(name="BCE"), smoothing)


def d_outputs_overlay(series: dict[str, dict], smoothing: float = 0.6) -> go.Figure:
    """D(x) (solid) and D(G(z)) (dashed) of every run, with the 0.5 equilibrium."""
    picked = {k: {m: v[m] for m in ("D_x", "D_G_z1") if m in v} for k, v in series.items()}
    fig = overlay_figure(
        picked,
        _("What D says: D(x) solid, D(G(z)) dashed"),
        _("probability 'real'"),
        smoothing,
        names={"D_x": "D(x)", "D_G_z1": "D(G(z))"},
    )
    fig.add_hline(y=0.5, line_dash="dot", annotation_text=_("0.5: D cannot tell"))
    fig.update_yaxes(range=[0, 1])
    return fig


def quality_figure(labels: list[str], values: list[float | None]) -> go.Figure:
    """One bar per run: its SWD x 10^3 (lower is closer to the real images)."""
    shown = [(lab, v) for lab, v in zip(labels, values, strict=True) if v is not None]
    fig = go.Figure(
        go.Bar(
            x=[lab for lab, __ in shown],
            y=[v for __, v in shown],
            text=[f"{v:.1f}" for __, v in shown],
            textposition="outside",
            marker_color=[COLOURS[i % len(COLOURS)] for i in range(len(shown))],
        )
    )
    fig.update_layout(
        title=_("Quality: SWD x10³ to real images (lower is better)"),
        yaxis_title="SWD x10³",
        height=320,
        margin=dict(l=40, r=10, t=40, b=40),
    )
    return fig


def dead_units_overlay(series: dict[str, dict[str, tuple[list, list]]]) -> go.Figure:
    """Dead-unit fraction per D block over the run: colour per arm, dash per block."""
    fig = overlay_figure(
        series, _("Dead units in D, per block, over the run"), _("fraction dead"), 0.0
    )
    fig.update_yaxes(range=[-0.02, 1.02], tickformat=".0%")
    return fig


def mean_or_none(values) -> float | None:
    """Mean of a non-empty list, else None."""
    return float(np.mean(values)) if len(values) else None

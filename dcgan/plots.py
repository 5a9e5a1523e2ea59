"""Plotly figures shared by the Streamlit pages and the Space (plotly is not a UI framework,
so both can import it; the engine's training code never does)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .explain import CHAPTER_ALPHAS, leaky_relu, leaky_relu_grad, transposed_scatter
from .i18n import _


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
            name=(_("α = {alpha} (D now)") if bold else "α = {alpha}").format(alpha=f"{a:g}"),
            line=dict(width=5 if bold else 2, dash=None if bold else "solid"),
        )
    if current is not None and not any(abs(a - current) < 1e-9 for a in alphas):
        y = leaky_relu_grad(x, current) if derivative else leaky_relu(x, current)
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            name=_("α = {alpha} (D now)").format(alpha=f"{current:g}"),
            line=dict(width=5, color="black"),
        )
    fig.update_layout(
        title="d LeakyReLU / dx" if derivative else "LeakyReLU(x) = max(0, x) + α·min(0, x)",
        xaxis_title="x",
        yaxis_title=_("gradient") if derivative else _("output"),
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
    fig = go.Figure(go.Heatmap(z=grid, colorscale="Blues", colorbar=dict(title=_("writes"))))
    if p:
        lo, hi = p - 0.5, sc.full_size - p - 0.5
        fig.add_shape(type="rect", x0=lo, y0=lo, x1=hi, y1=hi, line=dict(color="red", width=3))
    fig.update_layout(
        title=_(
            "{n}x{n} input, k={k}, s={s}: {full}x{full} before the crop, "
            "{out}x{out} inside the red box (p={p})"
        ).format(n=n, k=k, s=s, p=p, full=sc.full_size, out=sc.out_size),
        xaxis=dict(constrain="domain"),  # square cells, no wide empty axis beside them
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
    fig.add_hline(y=float(np.sqrt(nz)), line_dash="dot", annotation_text=_("√nz (typical ‖z‖)"))
    fig.update_layout(
        xaxis_title="t", yaxis_title="‖z‖", height=300, margin=dict(l=40, r=10, t=30, b=40)
    )
    return fig


MARGIN = dict(l=40, r=10, t=40, b=40)  # room for a title and axis labels, none wasted


def axes_layout(fig: go.Figure, title: str, x: str, y: str, height: int) -> go.Figure:
    """A titled chart with labelled axes and the house margins."""
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, height=height, margin=MARGIN)
    return fig


# ---------------------------------------------------------------- training charts

MAX_POINTS = 400  # points per trace in live charts: more than a 600-px chart can show, and
# every viewer's rerun hashes and sends each chart (loadtest.streamlit_sessions)


def smooth(values, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average; weight 0 returns the values."""
    v = np.asarray(values, dtype=np.float64)
    if weight <= 0 or len(v) == 0:
        return v
    out = np.empty_like(v)
    acc = 0.0
    for i, x in enumerate(v):
        acc = weight * acc + (1 - weight) * x
        out[i] = acc / (1 - weight ** (i + 1))  # debias: early points are not pulled to 0
    return out


def downsample_index(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """At most max_points indices spread evenly over range(n), always keeping the last."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def step_lines_layout(fig: go.Figure, title: str, yaxis_title: str, height: int) -> go.Figure:
    """The layout of a chart of lines over training steps, legend below (Train and Compare)."""
    fig.update_layout(
        title=title,
        xaxis_title=_("step"),
        yaxis_title=yaxis_title,
        height=height,
        margin=MARGIN,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def _series_figure(
    steps,
    series: dict[str, list[float]],
    smoothing: float,
    title: str,
    yaxis_title: str,
    log_y: bool = False,
    max_points: int = MAX_POINTS,
) -> go.Figure:
    """Raw values faint, smoothed values bold, one colour per series, downsampled."""
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    idx = downsample_index(len(steps), max_points)
    # float32 on the wire: plotly sends arrays as base64 binary, so this halves every chart
    # that each viewer's rerun hashes and sends, and a screen cannot show the difference
    x = np.asarray(steps, dtype=np.float32)[idx]
    fig = go.Figure()
    for colour, (name, values) in zip(colours, series.items(), strict=False):
        v = np.asarray(values, dtype=np.float64)
        if smoothing > 0:
            fig.add_scatter(
                x=x,
                y=v[idx].astype(np.float32),
                mode="lines",
                name=_("{name} (raw)").format(name=name),
                line=dict(color=colour, width=1),
                opacity=0.25,
                showlegend=False,
                hoverinfo="skip",
            )
        y = smooth(v, smoothing)[idx].astype(np.float32)
        fig.add_scatter(x=x, y=y, mode="lines", name=name, line_color=colour)
    step_lines_layout(fig, title, yaxis_title, height=300)
    if log_y:
        fig.update_yaxes(type="log", dtick="D2")  # ticks at 1, 2, 5 per decade
    return fig


def loss_figure(steps, loss_D, loss_G, smoothing: float = 0.6, loss: str = "bce") -> go.Figure:
    """loss_D and loss_G per step, raw and smoothed, named for the run's train.loss."""
    name = "BCE" if loss == "bce" else loss
    return _series_figure(
        steps,
        {"loss_D": loss_D, "loss_G": loss_G},
        smoothing,
        _("Losses"),
        _("{name} loss").format(name=name),
    )


def d_outputs_figure(steps, D_x, D_G_z, smoothing: float = 0.6, loss: str = "bce") -> go.Figure:
    """D(x) on real images and D(G(z)) on fakes, as the run's loss reads D's output: for BCE
    a probability, 0.5 at the minimax game's equilibrium; for the others a score."""
    from .losses import scale  # here: the losses import torch, which plots otherwise never do

    sc = scale(loss)
    label = _("probability 'real'") if loss == "bce" else _(sc.output)
    fig = _series_figure(steps, {"D(x)": D_x, "D(G(z))": D_G_z}, smoothing, _("What D says"), label)
    if sc.undecided is not None:
        fig.add_hline(y=sc.undecided, line_dash="dot", annotation_text=_("D cannot tell"))
    if loss == "bce":
        fig.update_yaxes(range=[0, 1])
    return fig


def grad_norm_figure(steps, grad_G, grad_D, smoothing: float = 0.6) -> go.Figure:
    """Total gradient norms of G and D on a log axis."""
    return _series_figure(
        steps, {"‖∇G‖": grad_G, "‖∇D‖": grad_D}, smoothing, _("Gradient norms"), "L2", log_y=True
    )


def throughput_figure(steps, examples_per_sec, device: str = "") -> go.Figure:
    """Examples per second (each step sees one real and one fake batch)."""
    title = _("Throughput on {device}").format(device=device) if device else _("Throughput")
    per_sec = _("examples/sec")
    return _series_figure(steps, {per_sec: examples_per_sec}, 0.0, title, per_sec)


def mark_events(fig: go.Figure, events: list[dict]) -> go.Figure:
    """Dashed vertical lines where a run's hyperparameters changed, labelled with the change."""
    for e in events[-20:]:  # a teacher's handful; a script's thousand would hide the chart
        label = ", ".join(f"{k} {v:g}" for k, v in e.items() if k in ("lr", "beta1", "delay"))
        fig.add_vline(
            x=e.get("step", 0),
            line_dash="dash",
            line_color="#888",
            annotation_text=label,
            annotation_position="top left",
        )
    return fig


def diversity_figure(steps, values) -> go.Figure:
    """Spread of the fixed-noise samples over training; a fall signals mode collapse."""
    fig = go.Figure(go.Scatter(x=list(steps), y=list(values), mode="lines+markers"))
    return axes_layout(
        fig,
        _("Sample diversity (std across the fixed-noise samples)"),
        _("step"),
        _("diversity"),
        260,
    )


# ---------------------------------------------------------------- teaching pictures


def architecture_figure(rows: list[dict], title: str) -> go.Figure:
    """Each layer's output drawn as a box: height follows H (log), width follows channels (log),
    labelled C x H x W. Orange boxes grow the image, green ones shrink it, grey ones keep its
    size. `rows` come from dcgan.models.trace_shapes."""
    fig = go.Figure()
    x = 0.0
    heights = [1 + np.log2(r["shape"][2]) for r in rows]
    for i, r in enumerate(rows):
        __, c, h, w = r["shape"]
        height = heights[i]
        width = 0.4 + 0.25 * np.log2(c)
        before = rows[i - 1]["shape"][2] if i else h
        colour = (
            "#b9d3ee"
            if i == 0
            else "#f4c7a1"
            if h > before
            else "#c9e4c5"
            if h < before
            else "#dddddd"
        )
        fig.add_shape(
            type="rect",
            x0=x,
            x1=x + width,
            y0=-height / 2,
            y1=height / 2,
            fillcolor=colour,
            line=dict(color="#555"),
        )
        label = _("input") if i == 0 else r["op"].replace(" + ", "<br>")
        fig.add_annotation(
            x=x + width / 2, y=height / 2 + 0.2, text=label, showarrow=False, yanchor="bottom"
        )
        fig.add_annotation(
            x=x + width / 2,
            y=-height / 2 - 0.2,
            text=f"<b>{c}×{h}×{w}</b>",
            showarrow=False,
            yanchor="top",
        )
        x += width + 1.1
    top = max(heights) / 2
    fig.update_layout(
        title=title,
        xaxis=dict(visible=False, range=[-0.3, x - 0.8]),
        yaxis=dict(visible=False, range=[-top - 1.3, top + 2.6]),
        height=120 + 24 * max(heights),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
    )
    return fig


def dead_units_figure(pre_activations: np.ndarray, alpha: float) -> go.Figure:
    """Each unit's largest pre-activation over a batch; a unit whose largest value is <= 0
    gets zero gradient from every input under ReLU (alpha 0): it is dead."""
    top = np.asarray(pre_activations).max(axis=0)
    dead = top <= 0
    colours = np.where(dead, "#d62728" if alpha == 0 else "#ff9896", "#1f77b4")
    fig = go.Figure(go.Bar(x=np.arange(len(top)), y=top, marker_color=colours))
    fig.add_hline(y=0, line_color="black")
    n = int(dead.sum())
    verdict = (
        _("{n} dead").format(n=n)
        if alpha == 0
        else _("{n} negative for every input, still learning (α={alpha})").format(
            n=n, alpha=f"{alpha:g}"
        )
    )
    title = _("Largest pre-activation of each of {units} units: {verdict}").format(
        units=len(top), verdict=verdict
    )
    return axes_layout(fig, title, _("unit"), _("max over the batch"), 320)


def gan2d_figure(frame) -> go.Figure:
    """Real and generated points over D's decision surface (a dcgan.gan2d.Frame)."""
    fig = go.Figure(
        go.Heatmap(
            x=frame.xs,
            y=frame.ys,
            z=frame.surface,
            colorscale="RdBu",
            zmin=0,
            zmax=1,
            opacity=0.6,
            colorbar=dict(title=_("D: P(real)")),
        )
    )
    fig.add_scatter(
        x=frame.real[:, 0],
        y=frame.real[:, 1],
        mode="markers",
        name=_("real"),
        marker=dict(color="#1f3b73", size=6),
    )
    fig.add_scatter(
        x=frame.fake[:, 0],
        y=frame.fake[:, 1],
        mode="markers",
        name=_("generated"),
        marker=dict(color="#ff7f0e", size=6, symbol="x"),
    )
    fig.update_layout(
        title=_("Epoch {epoch}: real vs generated, D's decision surface behind").format(
            epoch=frame.epoch
        ),
        xaxis_title="x₁",
        yaxis=dict(title="x₂", scaleanchor="x"),
        height=480,
        margin=MARGIN,
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def gan2d_loss_figure(frames) -> go.Figure:
    """Per-example losses by epoch for the 2-D GAN; both settle near ln 2 at equilibrium."""
    fr = [f for f in frames if f.epoch > 0]
    fig = go.Figure()
    fig.add_scatter(x=[f.epoch for f in fr], y=[f.loss_D for f in fr], name="loss_D")
    fig.add_scatter(x=[f.epoch for f in fr], y=[f.loss_G for f in fr], name="loss_G")
    fig.add_hline(y=float(np.log(2)), line_dash="dot", annotation_text="ln 2")
    fig.update_layout(
        title=_("Losses per example"),
        xaxis_title=_("epoch"),
        height=300,
        margin=MARGIN,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig

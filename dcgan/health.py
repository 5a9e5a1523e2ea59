"""Health hints for the classic GAN failures, read from a training job's history and timeline.

Three checks, each a pure function on plain lists and arrays (no UI imports):

- D wins outright: its loss collapses towards 0 while D(G(z)) sits near 0, so G gets
  almost no useful signal;
- G's loss keeps climbing over the recent window: D is pulling away;
- sample diversity falls (mode collapse): the fixed-noise samples become alike even though
  their noise vectors differ.

`check(config, history, diversity)` runs all three on a run's series and returns a list of `Hint`s.
Losses are compared per example, so the chapter's summed BCE and the paper's mean BCE share
the same thresholds. Each loss (train.loss, dcgan.losses) is judged on its own scale: D
winning looks different in least squares and hinge, and a WGAN critic's loss is no probability
at all, so for WGAN-GP the first two checks give way to the critic's distance estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .i18n import N_, _, number
from .losses import scale

D_COLLAPSE_LOSS = 0.1  # per-example loss_D: D(x) ~ 0.9 and D(G(z)) ~ 0.1 or better on average
D_COLLAPSE_FAKE = 0.1  # mean D(G(z)) below this: G's samples are rejected almost surely
G_CLIMB_MIN_RISE = 0.5  # per-example loss_G rise across the window worth a note (nats)
G_CLIMB_RATIO = 1.3  # ... and the late mean is at least this multiple of the early mean
MIN_STEPS = 40  # fewer logged steps than this: too early to judge anything
DIVERSITY_DROP = 0.5  # latest diversity under half the run's peak: mode collapse
# D winning outright on each loss's own scale: (per-example loss_D under, mean D(G(z)) under)
D_COLLAPSE = {
    "bce": (D_COLLAPSE_LOSS, D_COLLAPSE_FAKE),
    "lsgan": (0.01, 0.1),  # D(x) ~ 0.9, D(G(z)) ~ 0.1: ½(0.1² + 0.1²), as BCE's 0.1 means
    "hinge": (0.1, -1.0),  # nearly every image beyond the margin, fakes scored below -1
}
W_WIDEN_RATIO = 1.5  # the critic's distance estimate grew by half over the run's last half ...
W_WIDEN_MIN = 0.5  # ... and by at least this much per example


@dataclass(frozen=True)
class Num:
    """A number shown with `digits` decimals, written as the reader's language writes it."""

    value: float
    digits: int


@dataclass(frozen=True)
class Msg:
    """A message (a msgid marked with N_) and its named values, translated when read: one
    session's hints are shared by every viewer of the run (ui.jobs), whatever their language."""

    msgid: str
    params: tuple = ()  # (name, value) pairs; a value may be a Num or another Msg

    def text(self) -> str:
        def show(v):
            if isinstance(v, Num):
                return number(v.value, v.digits)
            return v.text() if isinstance(v, Msg) else v

        return _(self.msgid).format(**{k: show(v) for k, v in self.params})


def msg(msgid: str, **params) -> Msg:
    """Msg(msgid, params) with the values named: msg(N_("last {w} steps"), w=20)."""
    return Msg(msgid, tuple(params.items()))


@dataclass(frozen=True)
class Hint:
    """One note for the Train page: 'ok', 'info' or 'warning', with the numbers behind it;
    its texts are read in the language of the moment."""

    level: str
    title_msg: Msg
    message_msg: Msg
    evidence_msg: Msg | None = None

    @property
    def title(self) -> str:
        return self.title_msg.text()

    @property
    def message(self) -> str:
        return self.message_msg.text()

    @property
    def evidence(self) -> str:
        return self.evidence_msg.text() if self.evidence_msg else ""


def per_example(values: list[float], reduction: str, batch_size: int) -> np.ndarray:
    """Losses divided by the batch when the run sums BCE (the chapter's 'sum' reduction)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr / batch_size if reduction == "sum" else arr


def _window(n: int) -> int:
    """Recent window: the last fifth of the run, between 20 and 300 steps."""
    return int(min(300, max(20, n // 5)))


def d_collapse(loss_D: np.ndarray, D_G_z: np.ndarray, loss: str = "bce") -> Hint | None:
    """D's per-example loss near 0 with D(G(z)) near its 'fake' end over the recent window."""
    if len(loss_D) < MIN_STEPS or loss not in D_COLLAPSE:
        return None
    w = _window(len(loss_D))
    ld, fake = float(np.mean(loss_D[-w:])), float(np.mean(D_G_z[-w:]))
    loss_limit, fake_limit = D_COLLAPSE[loss]
    if ld < loss_limit and fake < fake_limit:
        return Hint(
            "warning",
            msg(N_("D's loss is collapsing to 0")),
            msg(
                N_(
                    "The discriminator rejects almost every generated image, so the generator's "
                    "gradient carries little information. Try a lower learning rate for D, fewer "
                    "D channels (ndf), or the 'paper' preset's smaller learning rate."
                )
            ),
            msg(
                N_("last {w} steps: loss_D {loss_d} per example, D(G(z)) {fake}"),
                w=w,
                loss_d=Num(ld, 3),
                fake=Num(fake, 3),
            ),
        )
    return None


def _late_rise(
    series: np.ndarray, min_rise: float, ratio: float, title: str, message: str, evidence: str
) -> Hint | None:
    """A warning when `series` ends the run's last half clearly higher than it began it: by
    `min_rise` and by `ratio` times (the last half, so the normal climb of the first steps,
    while D learns, is not flagged). The texts are N_ msgids; evidence names early, late, w."""
    n = len(series)
    if n < 2 * MIN_STEPS:
        return None
    w = int(min(1000, n // 2))
    q = max(5, w // 4)
    early, late = float(np.mean(series[-w:][:q])), float(np.mean(series[-q:]))
    if late - early > min_rise and late > ratio * max(early, 1e-6):
        return Hint(
            "warning",
            msg(title),
            msg(message),
            msg(evidence, early=Num(early, 2), late=Num(late, 2), w=w),
        )
    return None


def g_climbing(loss_G: np.ndarray) -> Hint | None:
    """G's per-example loss clearly higher at the end than at the start of the run's last half."""
    return _late_rise(
        loss_G,
        G_CLIMB_MIN_RISE,
        G_CLIMB_RATIO,
        N_("G's loss keeps climbing"),
        N_(
            "The discriminator is pulling away from the generator. If the samples stop "
            "improving, lower D's learning rate or β1, or restart from the last "
            "checkpoint."
        ),
        N_("loss_G per example rose from {early} to {late} over the last {w} steps"),
    )


def critic_widening(loss_D: np.ndarray) -> Hint | None:
    """WGAN-GP: the critic's distance estimate, -loss_D, clearly larger at the end of the run's
    last half than at its start: G is falling behind (the estimate should shrink)."""
    return _late_rise(
        -loss_D,
        W_WIDEN_MIN,
        W_WIDEN_RATIO,
        N_("The critic's distance estimate is growing"),
        N_(
            "In WGAN-GP, −loss_D estimates how far G's images are from the real ones; "
            "it should shrink as G improves. Growing, it says G is falling behind: "
            "lower the learning rate (the paper's is 1e-4 with β1 0 and β2 0.9) or "
            "restart from the last checkpoint."
        ),
        N_("−loss_D per example rose from {early} to {late} over the last {w} steps"),
    )


def grid_tiles(grid: np.ndarray, tile: int, pad: int = 2) -> np.ndarray:
    """Cut a grid made by dcgan.images.grid_array back into its (N, tile, tile, 3) images."""
    rows = (grid.shape[0] - pad) // (tile + pad)
    cols = (grid.shape[1] - pad) // (tile + pad)
    out = []
    for r in range(rows):
        for c in range(cols):
            y, x = pad + r * (tile + pad), pad + c * (tile + pad)
            t = grid[y : y + tile, x : x + tile]
            if not (t == 255).all():  # an unfilled cell of the last row is pure white
                out.append(t)
    return np.stack(out) if out else np.zeros((0, tile, tile, 3), np.uint8)


def diversity(tiles: np.ndarray) -> float:
    """Mean per-pixel standard deviation across samples, in [0, 0.5]: 0 means identical images."""
    if len(tiles) < 2:
        return 0.0
    return float((tiles.astype(np.float32) / 255.0).std(axis=0).mean())


def diversity_series(timeline, tile: int, pad: int = 2) -> tuple[list[int], list[float]]:
    """(steps, diversity) for each recorded grid of a timeline [(step, grid), ...]."""
    steps = [int(s) for s, __ in timeline]
    return steps, [diversity(grid_tiles(g, tile, pad)) for __, g in timeline]


def mode_collapse(steps: list[int], values: list[float]) -> Hint | None:
    """Diversity now under DIVERSITY_DROP of its peak, with the peak at least 3 frames back."""
    if len(values) < 5:
        return None
    peak_i = int(np.argmax(values))
    peak, now = values[peak_i], values[-1]
    if peak > 0 and now < DIVERSITY_DROP * peak and len(values) - 1 - peak_i >= 3:
        return Hint(
            "warning",
            msg(N_("Sample diversity is falling (mode collapse)")),
            msg(
                N_(
                    "The fixed-noise samples are becoming alike although their noise vectors "
                    "differ: the generator is collapsing onto a few outputs that fool D. "
                    "Restart from an earlier checkpoint, lower the learning rates, or try the "
                    "'paper' preset."
                )
            ),
            msg(
                N_("diversity {now} at step {step}, down from {peak} at step {peak_step}"),
                now=Num(now, 3),
                step=Num(steps[-1], 0),
                peak=Num(peak, 3),
                peak_step=Num(steps[peak_i], 0),
            ),
        )
    return None


def check(
    config: dict | None,
    history: Callable[[str], Sequence[float]],
    diversity: tuple[list[int], list[float]] = ([], []),
) -> list[Hint]:
    """Every hint for a run; one 'ok' hint when nothing is wrong.

    `history(key)` gives a metric's values (a run reader's downsampled series will do);
    `diversity` is (steps, values), e.g. diversity_series() of the run's timeline.
    """
    cfg = config or {}
    train = cfg.get("train", {})
    reduction = train.get("loss_reduction", "mean")
    loss = scale(train.get("loss", "bce"))
    batch = int(train.get("batch_size", 1))
    loss_D = per_example(history("loss_D"), reduction, batch)
    loss_G = per_example(history("loss_G"), reduction, batch)
    D_G_z = np.asarray(history("D_G_z1"), dtype=np.float64)
    if len(loss_D) < MIN_STEPS:
        return [
            Hint(
                "info",
                msg(N_("Too early to judge")),
                msg(N_("Health hints start after {n} logged steps."), n=MIN_STEPS),
                msg(N_("{n} steps so far"), n=len(loss_D)),
            )
        ]
    # a critic: its distance estimate; its loss_G drifts with the scores' offset, so no g_climbing
    checks = (
        [critic_widening(loss_D)]
        if loss.critic
        else [d_collapse(loss_D, D_G_z, loss.name), g_climbing(loss_G)]
    )
    hints = [h for h in (*checks, mode_collapse(*diversity)) if h is not None]
    if not hints:
        w = _window(len(loss_D))
        eq_D, eq_G = loss.equilibrium
        undecided = (
            msg(N_("a coin-flipping D scores ln 2 = {ln2}"), ln2=Num(math.log(2), 3))
            if loss.name == "bce"
            else msg(
                N_("on {loss}, a D that cannot tell scores {eq_d} and {eq_g}"),
                loss=loss.name,
                eq_d=f"{eq_D:g}",
                eq_g=f"{eq_G:g}",
            )
        )
        message = (
            N_("The critic's distance estimate is not growing and the samples stay diverse.")
            if loss.critic
            else N_(
                "D's loss is not collapsing, G's loss is not running away and the samples "
                "stay diverse."
            )
        )
        hints.append(
            Hint(
                "ok",
                msg(N_("No classic failure in sight")),
                msg(message),
                msg(
                    N_(
                        "last {w} steps: loss_D {loss_d}, loss_G {loss_g} per example "
                        "({undecided}); D(G(z)) {dgz} ({output})"
                    ),
                    w=w,
                    loss_d=Num(float(np.mean(loss_D[-w:])), 3),
                    loss_g=Num(float(np.mean(loss_G[-w:])), 3),
                    undecided=undecided,
                    dgz=Num(float(np.mean(D_G_z[-w:])), 2),
                    output=msg(loss.output),
                ),
            )
        )
    return hints

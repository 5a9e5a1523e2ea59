"""One training step, taken apart: the numbers behind the "One step, explained" page.

`explain_step` takes one D update and one G update exactly as the trainer does (dcgan.trainer:
G(z) computed once; D sees the real batch and G(z).detach(); then G's loss through a frozen D),
on copies of G and D, in fp32, and records what a learner asks about:

- D(x) and D(G(z)) before and after each update, and D's two loss terms;
- the gradient norm reaching each network in each update, and at G's output (the signal that
  flows back through D into G), layer by layer;
- which parameters each update changed (and that the other network's did not move);
- "what if we forget detach?": the gradient D's loss would send into G, measured, and how it
  points against G's own gradient.

`why_loss_g_rises` reads a run's own curves to answer "why does loss_G rise while the samples
improve?". No UI imports: the page draws what this returns.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import losses
from .i18n import _, number


@dataclass(frozen=True)
class Update:
    """One network's update: its loss, the gradient it got, and what moved."""

    loss: float
    grad_norm: float  # total L2 norm of the gradient on the updated network's parameters
    layer_grads: dict[str, float]  # parameter name -> its gradient's L2 norm
    changed: dict[str, float]  # parameter name -> ||w_after - w_before|| / ||w_before||
    other_changed: float  # largest |change| in the other network's parameters: 0 by design


@dataclass(frozen=True)
class StepReport:
    """Everything one explained step measured."""

    loss: str  # train.loss name
    output: str  # what D's readout is (an English msgid: _() it to show it)
    D_x: tuple[float, float]  # D's readout on the real batch, before and after D's update
    D_G_z: tuple[float, float, float]  # on G(z): before, after D's update, after G's update
    d_terms: tuple[float, float]  # D's loss on the real batch and on the fake batch
    penalty: float  # WGAN-GP's gradient penalty, else 0
    d_update: Update
    g_update: Update
    grad_at_fake: float  # ||d loss_G / d G(z)||: what flows back through D to G's output
    grad_to_d_in_g_step: float  # what loss_G would send D's weights; frozen, so never applied
    forgot_detach: float  # ||d loss_D / d G's weights|| had G(z) not been detached
    forgot_detach_cos: float  # its cosine with G's own gradient: negative means harmful
    forgot_detach_ms: float  # the extra backward pass through G that forgetting costs
    d_loss_after: float  # D's loss on the same batch after D's update (without a penalty)
    g_loss_after: float  # G's loss on the same z after G's update
    batch: int = 0
    detach_kept_g_out: bool = True  # no gradient reached G's weights in D's update


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """Copies of a network's parameters by name."""
    return {k: p.detach().clone() for k, p in net.named_parameters()}


def _relative_change(before: dict[str, torch.Tensor], net: nn.Module) -> dict[str, float]:
    """||after - before|| / ||before|| per parameter (absolute when before is all zeros)."""
    out = {}
    for k, p in net.named_parameters():
        d = float((p.detach() - before[k]).norm())
        out[k] = d / max(float(before[k].norm()), 1e-12)
    return out


def _max_change(before: dict[str, torch.Tensor], net: nn.Module) -> float:
    """The largest absolute change of any parameter element."""
    return max(
        (float((p.detach() - before[k]).abs().max()) for k, p in net.named_parameters()),
        default=0.0,
    )


def _grads(net: nn.Module) -> dict[str, float]:
    """Each parameter's gradient norm (0 where none arrived)."""
    return {
        k: float(p.grad.norm()) if p.grad is not None else 0.0 for k, p in net.named_parameters()
    }


def _total(norms: dict[str, float]) -> float:
    """Total L2 norm from per-parameter norms."""
    return float(np.sqrt(sum(v * v for v in norms.values())))


def _update(loss: torch.Tensor, grads: dict[str, float], moved, still) -> Update:
    """The record of one network's update; moved and still are (network, its snapshot before
    the update) for the updated network and the other one."""
    (net, before), (other, other_before) = moved, still
    return Update(
        float(loss.detach()),
        _total(grads),
        grads,
        _relative_change(before, net),
        _max_change(other_before, other),
    )


def _flat(grads) -> torch.Tensor:
    """One vector of gradients (zeros where None)."""
    return torch.cat([g.flatten() for g in grads])


def explain_step(
    G: nn.Module,
    D: nn.Module,
    real: torch.Tensor,
    z: torch.Tensor,
    loss: str = "bce",
    reduction: str = "mean",
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    opt_states: tuple[dict, dict] | None = None,
    in_place: bool = False,
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None = None,
) -> StepReport:
    """One D update then one G update of (G, D) on a real batch in [-1, 1] and latents z.

    Works on deep copies unless in_place; opt_states are (opt_G, opt_D) state dicts to continue
    from (a checkpoint's), else Adam starts fresh; optimizers, (opt_G, opt_D) already bound to G
    and D, are used as they are (with in_place, to step one model over and over). Both networks
    stay in train mode, as in the trainer, so BatchNorm uses each batch's statistics."""
    if not in_place:
        G, D = copy.deepcopy(G), copy.deepcopy(D)
    G.train()
    D.train()
    gan = losses.make(loss, reduction)
    if optimizers is not None:
        opt_G, opt_D = optimizers
    else:
        opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    if opt_states is not None:
        opt_G.load_state_dict(opt_states[0])
        opt_D.load_state_dict(opt_states[1])
        for opt in (opt_G, opt_D):  # the page's learning rate, whatever the checkpoint had
            for group in opt.param_groups:
                group.update(lr=lr, betas=betas)
    g0, d0 = _snapshot(G), _snapshot(D)
    opt_G.zero_grad(set_to_none=True)
    fake = G(z)  # computed once and reused by both updates, as the trainer does

    # what if we forget detach? D's loss with G(z) still attached reaches G's weights too
    real_out = D(real).flatten()
    attached_out = D(fake).flatten()
    t0 = time.perf_counter()
    wrong = torch.autograd.grad(
        gan.d_loss(real_out, attached_out), list(G.parameters()), retain_graph=True
    )
    forgot_ms = 1000 * (time.perf_counter() - t0)

    # (1) D's update on the real batch and the detached fakes
    opt_D.zero_grad(set_to_none=True)
    real_out = D(real).flatten()
    fake_out = D(fake.detach()).flatten()
    term_r, term_f = gan.d_terms(real_out, fake_out)
    gp = gan.penalty(D, real, fake.detach())
    loss_D = term_r + term_f + gp
    loss_D.backward()
    reached_G = any(p.grad is not None for p in G.parameters())
    d_grads = _grads(D)
    opt_D.step()
    with torch.no_grad():
        real_after, fake_after = D(real).flatten(), D(fake).flatten()
        D_x_after, D_G_z_after_d = float(gan.readout(real_after)), float(gan.readout(fake_after))
        d_loss_after = float(gan.d_loss(real_after, fake_after))  # on the same batch, no penalty
    d_update = _update(loss_D, d_grads, (D, d0), (G, g0))

    # (2) G's update through a frozen D: gradients flow through D's layers, not into its weights
    opt_G.zero_grad(set_to_none=True)
    d1 = _snapshot(D)
    fake_out_2 = D(fake).flatten()
    loss_G = gan.g_loss(fake_out_2)
    to_D = torch.autograd.grad(loss_G, list(D.parameters()), retain_graph=True)
    (at_fake,) = torch.autograd.grad(loss_G, fake, retain_graph=True)
    D.requires_grad_(False)
    try:
        loss_G.backward()
    finally:
        D.requires_grad_(True)
    g_grads = _grads(G)
    right = _flat([p.grad for p in G.parameters()])
    opt_G.step()
    with torch.no_grad():
        fake_after_g = D(G(z)).flatten()
        D_G_z_after_g = float(gan.readout(fake_after_g))
        g_loss_after = float(gan.g_loss(fake_after_g))
    g_update = _update(loss_G, g_grads, (G, g0), (D, d1))
    wrong_flat = _flat(wrong)
    cos = float(torch.dot(wrong_flat, right) / (wrong_flat.norm() * right.norm()).clamp_min(1e-30))
    return StepReport(
        loss=gan.name,
        output=gan.output,
        D_x=(float(gan.readout(real_out.detach())), D_x_after),
        D_G_z=(float(gan.readout(fake_out.detach())), D_G_z_after_d, D_G_z_after_g),
        d_terms=(float(term_r.detach()), float(term_f.detach())),
        penalty=float(gp.detach()) if torch.is_tensor(gp) else float(gp),
        d_update=d_update,
        g_update=g_update,
        grad_at_fake=float(at_fake.norm()),
        grad_to_d_in_g_step=float(_flat(to_D).norm()),
        forgot_detach=float(wrong_flat.norm()),
        forgot_detach_cos=cos,
        forgot_detach_ms=forgot_ms,
        d_loss_after=d_loss_after,
        g_loss_after=g_loss_after,
        batch=int(real.shape[0]),
        detach_kept_g_out=not reached_G,
    )


ROSE_BY = 0.05  # loss_G "rose" when its last fifth is this much above its first


@dataclass(frozen=True)
class LossGRise:
    """Whether loss_G rose over a run, and the curves' own answer to why."""

    rose: bool
    loss_G: tuple[float, float]  # mean over the first and the last fifth of the run
    D_x: tuple[float, float]
    D_G_z: tuple[float, float]
    text: str


def why_loss_g_rises(loss_G, D_x, D_G_z, loss: str = "bce") -> LossGRise | None:
    """Compare the first and last fifth of a run's loss_G, D(x) and D(G(z)) (equal-length
    sequences); None when there are too few points to judge."""
    n = min(len(loss_G), len(D_x), len(D_G_z))
    if n < 10:
        return None
    q = max(2, n // 5)
    first = lambda v: float(np.mean(np.asarray(v[:n], dtype=float)[:q]))  # noqa: E731
    last = lambda v: float(np.mean(np.asarray(v[:n], dtype=float)[-q:]))  # noqa: E731
    lg, dx, dgz = (
        (first(loss_G), last(loss_G)),
        (first(D_x), last(D_x)),
        (first(D_G_z), last(D_G_z)),
    )
    rise = lg[1] - lg[0]
    rose = rise > ROSE_BY * max(abs(lg[0]), 1e-6)  # a wobble of a few per cent is not a rise
    sc = losses.scale(loss)
    f2 = lambda v: number(v, 2)  # noqa: E731
    seen = _(
        "loss_G went from {lg0} to {lg1} while D(G(z)) went from {dgz0} to {dgz1} and D(x) "
        "from {dx0} to {dx1} ({output})."
    ).format(
        lg0=f2(lg[0]),
        lg1=f2(lg[1]),
        dgz0=f2(dgz[0]),
        dgz1=f2(dgz[1]),
        dx0=f2(dx[0]),
        dx1=f2(dx[1]),
        output=_(sc.output),
    )
    if rose and sc.critic:
        why = _(
            "A critic's scores have no fixed zero: both drift, and loss_G = −D(G(z)) follows "
            "the drift. Read the gap instead: D(x) − D(G(z)) went from {gap0} to {gap1}, the "
            "critic's own estimate of how far G still is."
        ).format(gap0=f2(dx[0] - dgz[0]), gap1=f2(dx[1] - dgz[1]))
    elif rose:
        why = _(
            "loss_G only measures how well G fools the D of the same step, and D is learning "
            "too: it got better at telling the two apart faster than G got better at fooling it. "
            "The target moved, so a rising loss_G says D is winning the race for now, not that "
            "G's images got worse; judge them by the grids or SWD."
        )
    else:
        why = _(
            "Here loss_G did not rise (by more than a few per cent): G kept up with D. It often "
            "rises while D learns faster than G, early in a run or after a learning-rate change."
        )
    text = seen + " " + why
    return LossGRise(rose, lg, dx, dgz, text)


def _fmt(v: float) -> str:
    """A number for a diagram label: 3 significant digits."""
    return f"{v:.3g}"


HEAD = (
    'digraph {rankdir=LR; bgcolor="transparent"; '
    'node [shape=box, style="rounded,filled", fillcolor="#f5f5f5", fontname="Helvetica"]; '
    'edge [fontname="Helvetica", fontsize=11];'
)
GRAD = 'color="#d62728", fontcolor="#d62728", style=dashed, constraint=false'


def d_step_dot(r: StepReport) -> str:
    """Graphviz DOT of D's update with this step's numbers: forward in black, gradients red."""
    (a0, a1), (b0, b1, __) = r.D_x, r.D_G_z
    gp = "\n" + _("+ gradient penalty {value}").format(value=_fmt(r.penalty)) if r.penalty else ""
    # labels in the reader's language; a translation must hold no double quote (DOT's)
    batch = _("real batch x\n({n} images)").format(n=r.batch)
    updated, on_real, on_fake = _("(updated)"), _("term on real"), _("term on fake")
    steps_d = _("Adam steps D")
    stops = _("stops: 0 reaches G\n(without detach: {value})").format(value=_fmt(r.forgot_detach))
    return (
        HEAD + 'z [label="z ~ N(0, I)", shape=ellipse]; G [label="G", fillcolor="#ffe0b2"]; '
        'fake [label="G(z)", shape=ellipse]; '
        'cut [label="detach()", shape=octagon, fillcolor="#ffcdd2"]; '
        f'x [label="{batch}", shape=ellipse]; '
        f'D [label="D\n{updated}", fillcolor="#bbdefb"]; '
        f'lr [label="{on_real}\n{_fmt(r.d_terms[0])}"]; '
        f'lf [label="{on_fake}\n{_fmt(r.d_terms[1])}"]; '
        f'L [label="loss_D = {_fmt(r.d_update.loss)}{gp}", fillcolor="#fff9c4"]; '
        "z -> G -> fake -> cut -> D; x -> D; "
        f'D -> lr [label="D(x) {_fmt(a0)} → {_fmt(a1)}"]; '
        f'D -> lf [label="D(G(z)) {_fmt(b0)} → {_fmt(b1)}"]; lr -> L; lf -> L; '
        f'L -> D [label="‖∇D‖ = {_fmt(r.d_update.grad_norm)}, {steps_d}", {GRAD}]; '
        f'L -> cut [label="{stops}", {GRAD}, style=dotted]; '
        "}"
    )


def g_step_dot(r: StepReport) -> str:
    """Graphviz DOT of G's update: the gradient flows back through a frozen D into G."""
    __, b1, b2 = r.D_G_z
    # labels in the reader's language; a translation must hold no double quote (DOT's)
    same, updated, frozen = _("z (the same)"), _("(updated)"), _("(frozen)")
    through = _("through D's layers; its weights would get {value}, unused").format(
        value=_fmt(r.grad_to_d_in_g_step)
    )
    steps_g = _("Adam steps G")
    return (
        HEAD + f'z [label="{same}", shape=ellipse]; '
        f'G [label="G\n{updated}", fillcolor="#ffe0b2"]; fake [label="G(z)", shape=ellipse]; '
        f'D [label="D\n{frozen}", fillcolor="#e0e0e0"]; '
        f'L [label="loss_G = {_fmt(r.g_update.loss)}", fillcolor="#fff9c4"]; '
        f'z -> G -> fake -> D; D -> L [label="D(G(z)) {_fmt(b1)} → {_fmt(b2)}"]; '
        f'L -> D [label="{through}", {GRAD}]; '
        f'D -> fake [label="‖∂loss_G/∂G(z)‖ = {_fmt(r.grad_at_fake)}", {GRAD}]; '
        f'fake -> G [label="‖∇G‖ = {_fmt(r.g_update.grad_norm)}, {steps_g}", {GRAD}]; '
        "}"
    )

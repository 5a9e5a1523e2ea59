"""The GAN losses a run can train with, and what each one's numbers mean.

    bce      the chapter's binary cross-entropy, G non-saturating (Goodfellow et al. 2014)
    lsgan    least squares (Mao et al. 2017)
    hinge    the margin loss of SN-GAN, SAGAN and BigGAN (Lim & Ye 2017)
    wgan-gp  Wasserstein critic with a gradient penalty (Gulrajani et al. 2017)

The trainer calls `d_loss(real, fake)` and `g_loss(fake)` on D's raw outputs (one per image)
and, for WGAN-GP, `penalty(D, real, fake)`; everything else about the step is shared. Each
loss also says how to read D's output (`readout`: a probability for BCE, a raw score for the
rest) and where its losses settle when D can no longer tell (`equilibrium`), which the health
hints and the pages use to judge a run on that loss's own scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .i18n import N_, _

DEFAULT = "bce"
GP_WEIGHT = 10.0  # the WGAN-GP paper's lambda, used for every dataset there
N_CRITIC = 5  # the WGAN-GP paper's critic steps per generator step


class Shown:
    """A class attribute the UIs show (a loss's title, its explanation): the msgid is marked
    for the catalogs, and reading the attribute gives it in the language of the moment, so
    `LOSSES[name].title` is translated wherever a page reads it. `.msgid` is the English."""

    def __init__(self, msgid: str):
        self.msgid = msgid

    def __get__(self, obj, owner=None) -> str:
        return _(self.msgid)


def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    """Sum (the chapter's) or mean (the paper's) over the batch, as train.loss_reduction says."""
    return x.sum() if reduction == "sum" else x.mean()


class GanLoss:
    """The chapter's BCE: D classifies, and its loss is the mean of the real and fake terms."""

    name = "bce"
    title = Shown(N_("BCE (the chapter's)"))
    output = N_("P(real)")  # what readout() returns
    equilibrium = (math.log(2), math.log(2))  # per-example (loss_D, loss_G) when D outputs 0.5
    undecided = 0.5  # readout() of a D that cannot tell real from fake (None: no such value)
    critic = False  # True: D is a critic whose gradient penalty forbids BatchNorm
    explanation = Shown(
        N_(
            "**Binary cross-entropy**, the chapter's loss. D is a classifier: the sigmoid of its "
            "output is its probability that an image is real, and BCE rewards it for calling "
            "real images real and fakes fake. G uses the *non-saturating* form: it maximises "
            "log D(G(z)) rather than minimising log(1 − D(G(z))), whose gradient vanishes exactly "
            "when G is bad and D is sure. When D can no longer tell, it says 0.5 everywhere and "
            "both losses sit at ln 2 ≈ 0.69 per example."
        )
    )

    def __init__(self, reduction: str = "mean", gp_weight: float = GP_WEIGHT):
        self.reduction = reduction
        self.gp_weight = gp_weight

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's loss on its outputs for a real and a fake batch: its two terms added."""
        on_real, on_fake = self.d_terms(real, fake)
        return on_real + on_fake

    def d_terms(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the real batch's term, the fake batch's term) of D's loss: the chapter's
        loss(real, 1) / 2 and loss(fake, 0) / 2 (halving is exact, so the sum is its mean)."""
        r = F.binary_cross_entropy_with_logits(
            real, torch.ones_like(real), reduction=self.reduction
        )
        f = F.binary_cross_entropy_with_logits(
            fake, torch.zeros_like(fake), reduction=self.reduction
        )
        return r / 2, f / 2

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """G's non-saturating loss: -log D(G(z)), i.e. BCE against the 'real' label."""
        return F.binary_cross_entropy_with_logits(
            fake, torch.ones_like(fake), reduction=self.reduction
        )

    def readout(self, out: torch.Tensor) -> torch.Tensor:
        """D's output as the charts show it: the mean probability that the images are real."""
        return torch.sigmoid(out).mean()

    def penalty(self, D: nn.Module, real, fake, generator=None) -> torch.Tensor | float:
        """An extra term on D's loss; only WGAN-GP has one (adding 0.0 changes no bit)."""
        return 0.0


class LeastSquares(GanLoss):
    """LSGAN: D regresses real images onto 1 and fakes onto 0; G pulls its fakes towards 1."""

    name = "lsgan"
    title = Shown(N_("Least squares (LSGAN)"))
    output = N_("score (real → 1, fake → 0)")
    equilibrium = (0.25, 0.125)  # D outputs 0.5 everywhere: (0.25 + 0.25) / 2 and 0.25 / 2
    explanation = Shown(
        N_(
            "**Least squares** (LSGAN, Mao et al. 2017). D regresses its output onto 1 for real "
            "images and 0 for fakes, and G pushes D(G(z)) towards 1, each with a squared error. "
            "A fake on the right side of D's boundary but far from the real data still costs G "
            "something, so G keeps getting a gradient where BCE's sigmoid has saturated; training "
            "is often steadier. D's output is a score, not a probability. When D cannot tell it "
            "outputs 0.5 everywhere: loss_D = 0.25 and loss_G = 0.125 per example."
        )
    )

    def d_terms(self, real, fake):
        """½ E[(D(x) − 1)²] and ½ E[D(G(z))²]: the paper's a = 0, b = 1."""
        return _reduce((real - 1) ** 2, self.reduction) / 2, _reduce(fake**2, self.reduction) / 2

    def g_loss(self, fake):
        """½ E[(D(G(z)) − 1)²]: the paper's c = 1, G wants its fakes read as real."""
        return _reduce((fake - 1) ** 2, self.reduction) / 2

    def readout(self, out):
        """The raw score, whose targets are 1 (real) and 0 (fake)."""
        return out.mean()


class Hinge(GanLoss):
    """The hinge loss: D only pays for real images scored under +1 and fakes over −1."""

    name = "hinge"
    title = Shown(N_("Hinge"))
    output = N_("score (margin ±1)")
    equilibrium = (2.0, 0.0)  # D scores everything 0: 1 + 1, and −0
    undecided = 0.0
    explanation = Shown(
        N_(
            "**Hinge** (Lim & Ye 2017; SN-GAN, SAGAN and BigGAN train with it). D is a max-margin "
            "classifier: it pays only for real images it scores below +1 and fakes above −1, so "
            "it stops pushing on images it already separates and spends its capacity on the hard "
            "ones. G maximises D's score on its fakes (loss_G = −D(G(z))). The output is an "
            "unbounded score: a D that cannot tell scores everything 0, giving loss_D = 2 and "
            "loss_G = 0. D winning outright shows as loss_D near 0 with D(G(z)) below −1."
        )
    )

    def d_terms(self, real, fake):
        """E[max(0, 1 − D(x))] and E[max(0, 1 + D(G(z)))]."""
        return _reduce(F.relu(1 - real), self.reduction), _reduce(F.relu(1 + fake), self.reduction)

    def g_loss(self, fake):
        """−E[D(G(z))]: raise the critic's score of the fakes."""
        return -_reduce(fake, self.reduction)

    def readout(self, out):
        """The raw score: above +1 is surely real, below −1 surely fake."""
        return out.mean()


class WassersteinGP(GanLoss):
    """WGAN-GP: D is a critic estimating the Wasserstein distance, kept 1-Lipschitz by a
    gradient penalty at points between real and fake images."""

    name = "wgan-gp"
    title = Shown("WGAN-GP")  # a name every language keeps
    output = N_("critic score (no scale)")
    equilibrium = (0.0, 0.0)  # real and fake scored alike: the distance estimate is 0
    undecided = None  # a critic's scores float: only the gap between real and fake means much
    critic = True
    explanation = Shown(
        N_(
            "**WGAN-GP** (Gulrajani et al. 2017). D becomes a *critic* whose scores estimate the "
            "Wasserstein (earth-mover's) distance between real and generated images: "
            "loss_D = D(G(z)) − D(x) on average, so −loss_D is how far G still is, and it "
            "shrinks as G improves, a loss that tracks quality. The estimate only holds if the "
            "critic is 1-Lipschitz, which a *gradient penalty* enforces softly: λ(‖∇D(x̂)‖ − 1)² "
            "at random points x̂ between real and fake images (λ = 10). The penalty is per image, "
            "so the critic must not use BatchNorm, which mixes the images of a batch: here it uses "
            "layer norm, as the paper suggests. The critic should be near its optimum before G "
            "moves, so it takes n_critic = 5 steps per G step. Its scores are not probabilities "
            "and have no fixed scale: read the trend of −loss_D, not its value."
        )
    )

    def d_terms(self, real, fake):
        """−E[D(x)] and E[D(G(z))]: together the negative of the critic's distance estimate."""
        return -_reduce(real, self.reduction), _reduce(fake, self.reduction)

    def g_loss(self, fake):
        """−E[D(G(z))]: move the fakes where the critic scores real images."""
        return -_reduce(fake, self.reduction)

    def readout(self, out):
        """The raw critic score; only differences between real and fake mean anything."""
        return out.mean()

    def penalty(self, D, real, fake, generator=None):
        """λ E[(‖∇D(x̂)‖₂ − 1)²], x̂ = εx + (1 − ε)G(z), ε ~ U(0, 1) per image."""
        return self.gp_weight * gradient_penalty(D, real, fake, self.reduction, generator)


def gradient_penalty(
    D: nn.Module, real: torch.Tensor, fake: torch.Tensor, reduction: str = "mean", generator=None
) -> torch.Tensor:
    """(‖∇D(x̂)‖₂ − 1)² reduced over the batch, with create_graph so D learns from it."""
    b = real.shape[0]
    eps = torch.rand(b, 1, 1, 1, device=real.device, generator=generator, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = D(x_hat).float()
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norms = grad.float().flatten(1).norm(dim=1)
    return _reduce((norms - 1) ** 2, reduction)


LOSSES: dict[str, type[GanLoss]] = {
    c.name: c for c in (GanLoss, LeastSquares, Hinge, WassersteinGP)
}


def make(name: str, reduction: str = "mean", gp_weight: float = GP_WEIGHT) -> GanLoss:
    """The loss called `name`, reducing over the batch as `reduction` says."""
    try:
        return LOSSES[name](reduction, gp_weight)
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}") from None


@dataclass(frozen=True)
class Scale:
    """How to read a run's loss numbers: its equilibrium and what D's output is."""

    name: str
    equilibrium: tuple[float, float]
    output: str  # the English msgid (a key for code); _() it to show it
    critic: bool
    undecided: float | None


def scale(name: str) -> Scale:
    """The reading guide for a loss name (unknown names read as BCE, the chapter's)."""
    c = LOSSES.get(name, GanLoss)
    return Scale(c.name, c.equilibrium, c.output, c.critic, c.undecided)


def msgid(cls: type[GanLoss], attr: str) -> str:
    """The English msgid behind a Shown attribute (e.g. a loss's title), untranslated: for
    what is stored (an experiment arm's label) and translated later, where it is shown."""
    for k in cls.__mro__:
        if attr in vars(k):
            return vars(k)[attr].msgid
    raise AttributeError(attr)

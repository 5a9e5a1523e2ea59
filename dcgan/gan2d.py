"""The GAN-basics engine: the d2l "Generative Adversarial Networks" section in miniature.

Real data are 2-D Gaussian points, X @ A + b with the chapter's A and b. The generator is one
linear layer (it can only learn an affine map of its noise, which is exactly what it needs),
and the discriminator a small MLP, 2 -> 5 -> 3 -> 1 with tanh. It trains in seconds on a CPU.
After each epoch `Gan2D.frame()` returns the real and generated points and D's decision
surface, which the GAN basics page draws as a heatmap behind the points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import ConfigError


@dataclass
class Gan2DConfig:
    """The chapter's settings for the 2-D GAN."""

    n_real: int = 1000  # the chapter's 1,000 real points
    batch_size: int = 8  # the chapter's batch
    lr_D: float = 0.05  # the chapter's: D learns fast ...
    lr_G: float = 0.005  # ... and G ten times slower, so D stays informative
    epochs: int = 20  # the chapter's epoch count; G matches the data by then
    latent_dim: int = 2  # the chapter's: the noise is as wide as the data
    seed: int = 0  # one seed drives data, init and noise, so a replay is identical
    A: tuple[tuple[float, float], ...] = ((1.0, 2.0), (-0.1, 0.5))  # the chapter's mixing
    b: tuple[float, float] = (1.0, 2.0)  # the chapter's offset
    n_show: int = 100  # points drawn per side, as the chapter plots data[:100]
    resolution: int = 60  # grid cells per axis of D's decision surface
    extent: tuple[float, float, float, float] | None = None  # surface box; None: fit the data

    def validate(self) -> Gan2DConfig:
        """Raise ConfigError naming the first bad field."""
        for name in ("n_real", "batch_size", "epochs", "latent_dim", "n_show", "resolution"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"gan2d.{name}={value!r} must be a whole number of at least 1.")
        if self.batch_size > self.n_real:
            raise ConfigError(
                f"gan2d.batch_size={self.batch_size} is larger than n_real={self.n_real}."
            )
        for name in ("lr_D", "lr_G"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"gan2d.{name}={value} must be greater than 0 and at most 1.")
        return self


@dataclass(frozen=True)
class Frame:
    """The state after one epoch, ready to draw."""

    epoch: int
    real: np.ndarray  # (n_show, 2)
    fake: np.ndarray  # (n_show, 2)
    xs: np.ndarray  # (resolution,) surface x coordinates
    ys: np.ndarray  # (resolution,) surface y coordinates
    surface: np.ndarray  # (resolution, resolution) D's probability that a point is real
    loss_D: float  # mean per-example loss over the epoch
    loss_G: float


def real_data(cfg: Gan2DConfig) -> torch.Tensor:
    """(n_real, 2) points: standard normal noise through the chapter's affine map."""
    g = torch.Generator().manual_seed(cfg.seed)
    X = torch.normal(0.0, 1.0, (cfg.n_real, 2), generator=g)
    return X @ torch.tensor(cfg.A) + torch.tensor(cfg.b)


class Gan2D:
    """The chapter's linear G and MLP D, trained one epoch at a time."""

    def __init__(self, cfg: Gan2DConfig | None = None):
        self.cfg = cfg = (cfg or Gan2DConfig()).validate()
        self.rng = torch.Generator().manual_seed(cfg.seed + 1)
        self.data = real_data(cfg)
        lo, hi = self.data.min(0).values - 1.0, self.data.max(0).values + 1.0
        self.extent = self.cfg.extent or (lo[0].item(), hi[0].item(), lo[1].item(), hi[1].item())
        self.G = nn.Linear(cfg.latent_dim, 2)  # z -> point: an affine map, nothing more
        self.D = nn.Sequential(  # point -> logit
            nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1)
        )
        with torch.no_grad():
            for p in list(self.G.parameters()) + list(self.D.parameters()):
                p.normal_(0.0, 0.02, generator=self.rng)  # the chapter's init
        self.loss = nn.BCEWithLogitsLoss(reduction="sum")
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_D)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_G)
        bs = cfg.batch_size
        self._ones = torch.ones(bs, 1)
        self._targets = torch.cat([torch.ones(bs, 1), torch.zeros(bs, 1)])  # real, then fake
        self.epoch = 0
        self.show_z = torch.normal(0.0, 1.0, (cfg.n_show, cfg.latent_dim), generator=self.rng)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.normal(0.0, 1.0, (n, self.cfg.latent_dim), generator=self.rng)

    def step(self, X: torch.Tensor) -> tuple[float, float]:
        """One D update then one G update on a full batch; the chapter's update_D / update_G."""
        b = X.shape[0]
        fake = self.G(self._noise(b))  # computed once: G does not change before its own update
        # D sees real and fake in one forward; with summed BCE the loss is the chapter's
        # (loss(real, 1) + loss(fake, 0)) / 2 exactly
        self.opt_D.zero_grad()
        logits = self.D(torch.cat([X, fake.detach()]))
        loss_D = self.loss(logits, self._targets) / 2
        loss_D.backward()
        self.opt_D.step()
        self.opt_G.zero_grad()
        loss_G = self.loss(self.D(fake), self._ones)  # non-saturating: max log D(G(z))
        loss_G.backward()
        self.opt_G.step()
        return loss_D.item(), loss_G.item()

    def train_epoch(self) -> tuple[float, float]:
        """One pass over the shuffled real data; mean per-example losses."""
        perm = torch.randperm(len(self.data), generator=self.rng)
        bs = self.cfg.batch_size
        tot_D = tot_G = 0.0
        n = 0
        # Tiny ops: an epoch is several times faster on one intra-op thread than on two on a
        # busy 2-core CPU. The thread count is the process's policy, set once where the
        # process starts (never here: this runs in a UI script thread).
        for i in range(0, len(perm) - bs + 1, bs):
            ld, lg = self.step(self.data[perm[i : i + bs]])
            tot_D, tot_G, n = tot_D + ld, tot_G + lg, n + bs
        self.epoch += 1
        return tot_D / n, tot_G / n

    @torch.no_grad()
    def surface(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """D's P(real) over a grid covering the data: (xs, ys, probs[y, x])."""
        x0, x1, y0, y1 = self.extent
        r = self.cfg.resolution
        xs, ys = torch.linspace(x0, x1, r), torch.linspace(y0, y1, r)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        pts = torch.stack([gx.flatten(), gy.flatten()], dim=1)
        probs = torch.sigmoid(self.D(pts)).reshape(r, r)
        return xs.numpy(), ys.numpy(), probs.numpy()

    @torch.no_grad()
    def frame(self, loss_D: float = float("nan"), loss_G: float = float("nan")) -> Frame:
        """Real and generated points plus D's surface, for drawing."""
        xs, ys, probs = self.surface()
        return Frame(
            epoch=self.epoch,
            real=self.data[: self.cfg.n_show].numpy(),
            fake=self.G(self.show_z).numpy(),
            xs=xs,
            ys=ys,
            surface=probs,
            loss_D=loss_D,
            loss_G=loss_G,
        )


def train(cfg: Gan2DConfig | None = None, on_frame: Callable[[Frame], None] | None = None):
    """Train for cfg.epochs; return [frame after init, frame after epoch 1, ...]."""
    gan = Gan2D(cfg)
    frames = [gan.frame()]
    if on_frame:
        on_frame(frames[0])
    for _ in range(gan.cfg.epochs):
        frames.append(gan.frame(*gan.train_epoch()))
        if on_frame:
            on_frame(frames[-1])
    return frames


def moments(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of (n, 2) points: how close G's cloud is to the data's."""
    return points.mean(axis=0), np.cov(points.T)

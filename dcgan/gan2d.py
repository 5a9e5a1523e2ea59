"""The GAN-basics engine: the d2l "Generative Adversarial Networks" section in miniature.

Real data are 2-D Gaussian points, X @ A + b with the chapter's A and b. The generator is one
linear layer (it can only learn an affine map of its noise, which is exactly what it needs),
and the discriminator a small MLP, 2 -> 5 -> 3 -> 1 with tanh. It trains in seconds on a CPU.
After each epoch `Gan2D.frame()` returns the real and generated points and D's decision
surface, which the GAN basics page draws as a heatmap behind the points.

Mode collapse, as GAN Lab teaches it: `data="ring"` (8 Gaussians on a circle) or `"grid"` (25 on
a 5 x 5 lattice) swaps in an MLP G and D, since an affine G cannot split into modes. Each frame
then also carries a per-mode coverage count and the KL and JS divergences between the real
density and G's samples, both binned on a grid. `mixture_config(collapse=True)` makes D learn
ten times slower than G, which reliably collapses G onto one or two modes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .config import ConfigError
from .i18n import N_, _


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
    data: str = "gaussian"  # the chapter's one Gaussian; "ring" and "grid" are GAN Lab's mixtures
    hidden: int = 64  # MLP width for the mixtures: enough to bend noise into 25 separate modes
    beta1: float = 0.9  # torch's Adam default, as the chapter; the mixtures use DCGAN's 0.5
    n_eval: int = 2000  # G samples scored per frame: about 80 per mode on the 25-mode grid
    bins: int = 40  # cells per axis of the grid the KL and JS divergences are binned on

    def validate(self) -> Gan2DConfig:
        """Raise ConfigError naming the first bad field."""
        if self.data not in DATASETS:
            raise ConfigError(
                _("gan2d.data={value} is not a dataset; choose one of {names}.").format(
                    value=repr(self.data), names=sorted(DATASETS)
                )
            )
        whole = ("n_real", "batch_size", "epochs", "latent_dim", "n_show", "resolution")
        for name in (*whole, "hidden", "n_eval", "bins"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(
                    _("gan2d.{name}={value} must be a whole number of at least 1.").format(
                        name=name, value=repr(value)
                    )
                )
        if self.batch_size > self.n_real:
            raise ConfigError(
                _("gan2d.batch_size={batch} is larger than n_real={n}.").format(
                    batch=self.batch_size, n=self.n_real
                )
            )
        for name in ("lr_D", "lr_G"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(
                    _("gan2d.{name}={value} must be greater than 0 and at most 1.").format(
                        name=name, value=value
                    )
                )
        if not 0 <= self.beta1 < 1:
            raise ConfigError(
                _("gan2d.beta1={value} must be at least 0 and below 1.").format(value=self.beta1)
            )
        return self


# name -> what the page calls it (English msgids: _() one to show it)
DATASETS = {
    "gaussian": N_("the chapter's tilted Gaussian"),
    "ring": N_("a ring of 8 Gaussians (GAN Lab)"),
    "grid": N_("a grid of 25 Gaussians"),
}
RING_RADIUS, RING_STD = 2.0, 0.1  # narrow modes far apart: a G that covers one misses the rest
GRID_SPACING, GRID_STD = 2.0, 0.2  # wider than the ring's: 25 narrow modes defeat a small MLP
COVER_SIGMAS = 3.0  # a sample belongs to a mode within 3 standard deviations of its centre
COVER_SHARE = 0.2  # a mode is covered once it holds a fifth of its fair share of samples


def mixture_config(data: str = "ring", collapse: bool = False, **overrides) -> Gan2DConfig:
    """Settings that learn a mixture (most seeds cover 8 of 8 ring modes in 30 epochs), or,
    with collapse=True, the same with D learning ten times slower than G, which collapses."""
    cfg = dict(
        data=data,
        n_real=4000,  # 500 per ring mode, so every batch of 64 sees most modes
        batch_size=64,  # a batch wide enough that D sees several modes each step
        lr_D=1e-4 if collapse else 1e-3,  # a slow D cannot punish G for crowding one mode
        lr_G=1e-3,
        beta1=0.5,
        epochs=30,  # about 1,900 steps: the ring is covered well before
        n_show=500,
    )
    return Gan2DConfig(**{**cfg, **overrides})


def modes(cfg: Gan2DConfig) -> tuple[np.ndarray, np.ndarray]:
    """(K, 2) mode centres and the (2, 2) covariance every mode shares."""
    if cfg.data == "ring":
        a = np.arange(8) * 2 * math.pi / 8
        return RING_RADIUS * np.stack([np.cos(a), np.sin(a)], 1), RING_STD**2 * np.eye(2)
    if cfg.data == "grid":
        g = (np.arange(5) - 2) * GRID_SPACING
        yy, xx = np.meshgrid(g, g, indexing="ij")
        return np.stack([xx.ravel(), yy.ravel()], 1), GRID_STD**2 * np.eye(2)
    mix = np.array(cfg.A)
    return np.array([cfg.b]), mix.T @ mix  # x = z A + b with z ~ N(0, I): covariance A^T A


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
    mode_counts: tuple[int, ...] = ()  # of n_eval G samples, how many sit within 3 sd of each mode
    covered: int = 0  # modes holding at least COVER_SHARE of their fair share
    kl: float = float("nan")  # KL(real || G) on the binned grid: large when G misses real mass
    js: float = float("nan")  # Jensen-Shannon: symmetric, at most ln 2


def real_data(cfg: Gan2DConfig) -> torch.Tensor:
    """(n_real, 2) points: standard normal noise through the chapter's affine map, or, for a
    mixture, a uniformly chosen mode's centre plus its noise."""
    g = torch.Generator().manual_seed(cfg.seed)
    X = torch.normal(0.0, 1.0, (cfg.n_real, 2), generator=g)
    if cfg.data == "gaussian":
        return X @ torch.tensor(cfg.A) + torch.tensor(cfg.b)
    centres, cov = modes(cfg)
    k = torch.randint(len(centres), (cfg.n_real,), generator=g)
    std = math.sqrt(cov[0, 0])
    return torch.tensor(centres, dtype=torch.float32)[k] + std * X


def density(cfg: Gan2DConfig, pts: np.ndarray) -> np.ndarray:
    """The real data's probability density at (n, 2) points: the mixture of its modes."""
    centres, cov = modes(cfg)
    inv, det = np.linalg.inv(cov), np.linalg.det(cov)
    d = pts[:, None, :] - centres[None, :, :]  # (n, K, 2)
    m = np.einsum("nki,ij,nkj->nk", d, inv, d)  # squared Mahalanobis distance
    return np.exp(-0.5 * m).mean(1) / (2 * math.pi * math.sqrt(det))


def mode_counts(cfg: Gan2DConfig, pts: np.ndarray) -> np.ndarray:
    """(K,) how many points lie within COVER_SIGMAS of each mode's centre."""
    centres, cov = modes(cfg)
    d = pts[:, None, :] - centres[None, :, :]
    m = np.sqrt(np.einsum("nki,ij,nkj->nk", d, np.linalg.inv(cov), d))
    near = m.argmin(1)[m.min(1) < COVER_SIGMAS]
    return np.bincount(near, minlength=len(centres))


def cover_need(n: int, k: int) -> float:
    """Samples a mode must hold to count as covered: COVER_SHARE of the n / k a perfect G puts
    in each, and at least one."""
    return max(1.0, COVER_SHARE * n / k)


def covered(counts: np.ndarray, n: int) -> int:
    """Modes holding at least cover_need of the n samples."""
    return int((counts >= cover_need(n, len(counts))).sum())


@dataclass
class Divergence:
    """KL and JS between the real density and samples, both binned on one grid."""

    cfg: Gan2DConfig
    extent: tuple[float, float, float, float]
    p: np.ndarray = field(init=False)  # (bins * bins,) the real density's mass per cell

    def __post_init__(self):
        x0, x1, y0, y1 = self.extent
        b = self.cfg.bins
        xs = x0 + (np.arange(b) + 0.5) * (x1 - x0) / b  # cell centres
        ys = y0 + (np.arange(b) + 0.5) * (y1 - y0) / b
        gy, gx = np.meshgrid(ys, xs, indexing="ij")
        p = density(self.cfg, np.stack([gx.ravel(), gy.ravel()], 1))
        self.p = p / p.sum()  # the mass inside the box, renormalised

    def q(self, pts: np.ndarray) -> np.ndarray:
        """Samples' histogram on the grid; points outside the box count in the edge cells, and
        a small pseudo-count keeps an empty cell from making KL infinite."""
        x0, x1, y0, y1 = self.extent
        b = self.cfg.bins
        ix = np.clip(((pts[:, 0] - x0) / (x1 - x0) * b).astype(int), 0, b - 1)
        iy = np.clip(((pts[:, 1] - y0) / (y1 - y0) * b).astype(int), 0, b - 1)
        counts = np.bincount(iy * b + ix, minlength=b * b) + 0.01
        return counts / counts.sum()

    def __call__(self, pts: np.ndarray) -> tuple[float, float]:
        """(KL(real || samples), JS(real, samples)) in nats."""
        p, q = self.p, self.q(pts)
        kl = lambda a, c: float(np.sum(np.where(a > 0, a * np.log(np.maximum(a, 1e-300) / c), 0)))
        m = (p + q) / 2
        return kl(p, q), 0.5 * kl(p, m) + 0.5 * kl(q, m)


class Gan2D:
    """The chapter's linear G and MLP D, trained one epoch at a time."""

    def __init__(self, cfg: Gan2DConfig | None = None):
        self.cfg = cfg = (cfg or Gan2DConfig()).validate()
        self.rng = torch.Generator().manual_seed(cfg.seed + 1)
        self.data = real_data(cfg)
        lo, hi = self.data.min(0).values - 1.0, self.data.max(0).values + 1.0
        self.extent = self.cfg.extent or (lo[0].item(), hi[0].item(), lo[1].item(), hi[1].item())
        if cfg.data == "gaussian":
            self.G = nn.Linear(cfg.latent_dim, 2)  # z -> point: an affine map, nothing more
            self.D = nn.Sequential(  # point -> logit
                nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 1)
            )
        else:
            self.G, self.D = _mlp(cfg.latent_dim, cfg.hidden, 2), _mlp(2, cfg.hidden, 1)
        with torch.no_grad():
            for m in list(self.G.modules()) + list(self.D.modules()):
                if not isinstance(m, nn.Linear):
                    continue
                for p in (m.weight, m.bias):
                    if cfg.data == "gaussian":
                        p.normal_(0.0, 0.02, generator=self.rng)  # the chapter's init
                    else:  # torch's own Linear init, drawn from the seeded generator
                        bound = 1 / math.sqrt(m.in_features)
                        p.uniform_(-bound, bound, generator=self.rng)
        self.loss = nn.BCEWithLogitsLoss(reduction="sum")
        betas = (cfg.beta1, 0.999)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_D, betas=betas)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_G, betas=betas)
        bs = cfg.batch_size
        self._ones = torch.ones(bs, 1)
        self._targets = torch.cat([torch.ones(bs, 1), torch.zeros(bs, 1)])  # real, then fake
        self.epoch = 0
        self.show_z = torch.normal(0.0, 1.0, (cfg.n_show, cfg.latent_dim), generator=self.rng)
        # the scored samples come from their own generator, so scoring never shifts training
        eval_rng = torch.Generator().manual_seed(cfg.seed + 2)
        self.eval_z = torch.normal(0.0, 1.0, (cfg.n_eval, cfg.latent_dim), generator=eval_rng)
        self.divergence = Divergence(cfg, self.extent)

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
        scored = self.G(self.eval_z).numpy()
        counts = mode_counts(self.cfg, scored)
        kl, js = self.divergence(scored)
        return Frame(
            epoch=self.epoch,
            real=self.data[: self.cfg.n_show].numpy(),
            fake=self.G(self.show_z).numpy(),
            xs=xs,
            ys=ys,
            surface=probs,
            loss_D=loss_D,
            loss_G=loss_G,
            mode_counts=tuple(int(c) for c in counts),
            covered=covered(counts, len(scored)),
            kl=kl,
            js=js,
        )


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Two hidden ReLU layers: the smallest MLP that bends noise into separate modes."""
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_out),
    )


def divergence_floor(cfg: Gan2DConfig) -> tuple[float, float]:
    """(KL, JS) of n_eval fresh real points: what a perfect G scores, since a finite sample's
    histogram never matches the density exactly."""
    gan = Gan2D(cfg)
    fresh = real_data(Gan2DConfig(**{**cfg.__dict__, "seed": cfg.seed + 3, "n_real": cfg.n_eval}))
    return gan.divergence(fresh.numpy())


def train(cfg: Gan2DConfig | None = None, on_frame: Callable[[Frame], None] | None = None):
    """Train for cfg.epochs; return [frame after init, frame after epoch 1, ...]."""
    gan = Gan2D(cfg)
    frames = [gan.frame()]
    if on_frame:
        on_frame(frames[0])
    for _epoch in range(gan.cfg.epochs):
        frames.append(gan.frame(*gan.train_epoch()))
        if on_frame:
            on_frame(frames[-1])
    return frames


def moments(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of (n, 2) points: how close G's cloud is to the data's."""
    return points.mean(axis=0), np.cov(points.T)


def main(argv: list[str] | None = None) -> int:
    """CLI: train a mixture at the page's settings for some seeds; print coverage, KL and JS."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m dcgan.gan2d", description=main.__doc__)
    ap.add_argument("--data", choices=[d for d in DATASETS if d != "gaussian"], default="ring")
    ap.add_argument("--collapse", action="store_true", help="D learns ten times slower than G")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--epochs", type=int, default=30)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)  # this process's policy: tiny MLPs run fastest on one thread
    print("seed  covered  KL     JS     (perfect G: KL, JS)")
    for seed in a.seeds:
        cfg = mixture_config(a.data, collapse=a.collapse, seed=seed, epochs=a.epochs)
        f = train(cfg)[-1]
        floor = divergence_floor(cfg)
        k = len(f.mode_counts)
        print(
            f"{seed:>4}  {f.covered:>2} of {k}  {f.kl:5.2f}  {f.js:5.3f}  ({floor[0]:.2f}, "
            f"{floor[1]:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Is the generator memorising its training images? Nearest neighbours, read with care.

For a few generated samples this finds the k nearest training images, in pixel space and in
the penultimate feature space of a discriminator, with their distances. For many samples it
compares two distributions of nearest-neighbour distances:

    generated -> train   how far each generated image is from its closest training image
    held-out  -> train   the same for real images the generator never trained on

A generator that copies its training images puts its samples much closer to the training set
than fresh real images are, so the first distribution sits left of the second. The summary
numbers: the ratio of the two medians, and the fraction of generated samples at most as far
from a training image as the 5th percentile of the held-out distances. Held-out images land
there about 5 % of the time (more when the data holds exact duplicates, which put many at
distance 0); a generator is flagged when it lands there `FLAG_EXCESS` more often than they do.

When the run trained on every image there is no true held-out set: a random split of the
training images stands in, as a reference only (those images were seen in training).

Caveat (Theis, van den Oord & Bethge 2015, "A note on the evaluation of generative models",
arXiv:1511.01844): nearest neighbours alone are weak evidence. A copy shifted by one pixel is
far away in Euclidean distance, and a generator can store training images behind small
changes and still pass. A clean result says "no near-copies were found", not "it generalises".

Distances are RMS differences per value: pixels in [0, 1], features as D computes them, so
images of any size read on the same scale. Training images stay uint8 and are converted one
chunk at a time, so 20,000 images of 64x64x3 need about 250 MB, not 1 GB of floats. The
search itself is dcgan.neighbours; what a checkpoint says about its data is dcgan.provenance.

    python -m dcgan.memorisation CHECKPOINT [--data SOURCE] [--n 512] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .i18n import N_, _, number
from .images import to_uint8
from .latent import generate, sample_z
from .neighbours import CHUNK, Embed, feature_embed, knn, pixel_embed
from .provenance import data_spec, discriminator_for, training_data

# the spaces' names: keys (and the CLI's words) in English; _() one to show it
PIXEL = N_("pixel")
FEATURES = N_("D features")
REF_PERCENTILE = 5.0  # a held-out image lands below this by construction 5 % of the time
FLAG_EXCESS = 0.15  # 20 % against held-out's 5 %: four times the rate, not sampling noise
THEIS_CAVEAT = N_(
    "Nearest neighbours alone are weak evidence (Theis, van den Oord & Bethge 2015, "
    "'A note on the evaluation of generative models'): a copy shifted by a pixel looks far "
    "away, and small changes can hide a memorised image. A clean result means no near-copies "
    "were found, not that the generator generalises."
)

# --------------------------------------------------------------------------- report


@dataclass
class DistanceReport:
    """Generated-to-train against held-out-to-train nearest distances in one space."""

    space: str
    generated: np.ndarray  # per generated sample: distance to its nearest training image
    heldout: np.ndarray  # per held-out image: distance to its nearest training image
    threshold: float  # REF_PERCENTILE of the held-out distances
    frac_close: float  # generated samples at or below the threshold
    heldout_close: float  # held-out images there: 0.05, or more with duplicates in the data
    median_ratio: float  # median generated / median held-out; well below 1 hints at copies
    flagged: bool  # frac_close - heldout_close >= FLAG_EXCESS

    def summary(self) -> str:
        """One line a student can read."""
        verdict = "FLAGGED: near-copies of training images" if self.flagged else "not flagged"
        return (
            f"{self.space}: median NN distance generated {np.median(self.generated):.4f}, "
            f"held-out {np.median(self.heldout):.4f} (ratio {self.median_ratio:.2f}); "
            f"{self.frac_close:.1%} of generated samples (held-out: {self.heldout_close:.1%}) "
            f"are within the {REF_PERCENTILE:g}th percentile of held-out distances "
            f"({self.threshold:.4f}): {verdict}"
        )

    def numbers(self) -> dict:
        """Plain numbers for JSON and docs."""
        return {
            "space": self.space,
            "median_generated": float(np.median(self.generated)),
            "median_heldout": float(np.median(self.heldout)),
            "median_ratio": self.median_ratio,
            "threshold": self.threshold,
            "frac_close": self.frac_close,
            "heldout_close": self.heldout_close,
            "flagged": self.flagged,
        }


def distance_report(space: str, generated: np.ndarray, heldout: np.ndarray) -> DistanceReport:
    """Summarise two nearest-distance samples into the flag and its two numbers."""
    threshold = float(np.percentile(heldout, REF_PERCENTILE))
    # "at or below", and against the held-out rate at the same threshold: with duplicate
    # images in the data the percentile can be exactly 0, and a copy is at exactly 0 too
    frac = float(np.mean(generated <= threshold))
    frac_h = float(np.mean(heldout <= threshold))
    med_h = float(np.median(heldout))
    ratio = float(np.median(generated)) / med_h if med_h > 0 else math.inf
    return DistanceReport(
        space=space,
        generated=generated,
        heldout=heldout,
        threshold=threshold,
        frac_close=frac,
        heldout_close=frac_h,
        median_ratio=ratio,
        flagged=frac - frac_h >= FLAG_EXCESS,
    )


@dataclass
class Neighbours:
    """The k nearest training images of a few generated samples, in one space."""

    space: str
    index: np.ndarray  # (samples, k) indices into the training images searched
    distance: np.ndarray  # (samples, k) RMS distances, nearest first


@dataclass
class MemorisationReport:
    """Everything the page and the CLI show: both spaces, the examples, and the caveats."""

    pixel: DistanceReport
    features: DistanceReport | None
    examples: dict[str, Neighbours]
    samples: torch.Tensor  # uint8 (n_examples, C, H, W): the generated images of `examples`
    train: torch.Tensor  # uint8: the reference set the indices point into
    heldout_is_real: bool  # False: a random split of the training images stood in
    heldout_note: str
    feature_note: str  # which D made the features
    n_generated: int
    seconds: float = 0.0
    flips: bool = False

    @property
    def flagged(self) -> bool:
        """Flagged in any space searched."""
        return self.pixel.flagged or bool(self.features and self.features.flagged)

    def numbers(self) -> dict:
        """Plain numbers for JSON and docs."""
        return {
            "n_generated": self.n_generated,
            "n_heldout": int(len(self.pixel.heldout)),
            "n_train": int(len(self.train)),
            "heldout_is_real": self.heldout_is_real,
            "flips": self.flips,
            "flagged": self.flagged,
            "pixel": self.pixel.numbers(),
            "features": self.features.numbers() if self.features else None,
            "feature_note": self.feature_note,
            "seconds": round(self.seconds, 1),
        }


def split_heldout(
    train: torch.Tensor, heldout: torch.Tensor | None, n_heldout: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, bool, str]:
    """(reference train set, held-out images, whether they are truly unseen, a note)."""
    gen = torch.Generator().manual_seed(seed + 7919)
    if heldout is not None and len(heldout) > 0:
        pick = torch.randperm(len(heldout), generator=gen)[:n_heldout]
        note = _("{n} held-out images the generator never trained on.").format(n=number(len(pick)))
        return train, heldout[pick], True, note
    n = min(n_heldout, len(train) // 2)
    if n < 2:
        raise ValueError(
            _(
                "only {n} training images: too few to split off a held-out reference; "
                "use a dataset with at least four images."
            ).format(n=len(train))
        )
    perm = torch.randperm(len(train), generator=gen)
    note = _(
        "The run trained on every image, so there is no true held-out set: {n} random "
        "training images stand in as a reference only (the generator has seen them)."
    ).format(n=number(n))
    return train[perm[n:]], train[perm[:n]], False, note


def check(
    G: nn.Module,
    nz: int,
    train: torch.Tensor,
    heldout: torch.Tensor | None = None,
    *,
    D: nn.Sequential | None = None,
    feature_note: str = "",
    n_generated: int = 512,
    n_heldout: int = 512,
    k: int = 5,
    n_examples: int = 6,
    seed: int | torch.Generator = 0,
    flips: bool = False,
    chunk: int = CHUNK,
) -> MemorisationReport:
    """Run the whole check: nearest training images of generated samples against held-out."""
    t0 = time.perf_counter()
    if train.dtype != torch.uint8 or train.dim() != 4:
        raise ValueError(_("training images must be a uint8 (N, C, H, W) tensor."))
    seed_int = int(seed.initial_seed()) if isinstance(seed, torch.Generator) else int(seed)
    ref, held, real, note = split_heldout(train, heldout, n_heldout, seed_int)
    fake = to_uint8(generate(G, sample_z(n_generated, nz, seed)))
    spaces: dict[str, Embed] = {PIXEL: pixel_embed}
    if D is not None:
        spaces[FEATURES] = feature_embed(D)
    reports, examples = {}, {}
    # one search per space: every query rides along, so the training images are embedded once
    # (through D that is most of the cost); mirrored queries stand for mirrored references
    parts = [fake, held] + ([fake.flip(-1), held.flip(-1)] if flips else [])
    queries = torch.cat(parts)
    ng, nh = len(fake), len(held)
    for name, embed in spaces.items():
        d, i = knn(queries, ref, embed, k, chunk)
        near = d[:, 0]
        g, h = near[:ng], near[ng : ng + nh]
        if flips:
            g = torch.minimum(g, near[ng + nh : 2 * ng + nh])
            h = torch.minimum(h, near[2 * ng + nh :])
        reports[name] = distance_report(name, g.numpy(), h.numpy())
        examples[name] = Neighbours(name, i[:n_examples].numpy(), d[:n_examples].numpy())
    return MemorisationReport(
        pixel=reports[PIXEL],
        features=reports.get(FEATURES),
        examples=examples,
        samples=fake[:n_examples],
        train=ref,
        heldout_is_real=real,
        heldout_note=note,
        feature_note=feature_note if D is not None else _("no discriminator given"),
        n_generated=n_generated,
        seconds=time.perf_counter() - t0,
        flips=flips,
    )


class ReplayGenerator(nn.Module):
    """The perfect memoriser, as a reference: each z replays one training image (z picks which).

    It is what the check must flag; `python -m dcgan.memorisation ... --replay` shows its row.
    """

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.register_buffer("images", images)  # uint8: converted per batch, not all at once
        self.anchor = nn.Parameter(torch.zeros(1))  # generate() finds G's device through it

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        idx = (z.flatten(1)[:, 0].abs() * 1e6).long() % len(self.images)
        return self.images[idx].float().mul(2.0 / 255.0).sub(1.0)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """Print the memorisation check of a generator against its training images."""
    from .checkpoint import CheckpointError, load_generator
    from .config import ConfigError
    from .data import DataError

    p = argparse.ArgumentParser(
        prog="python -m dcgan.memorisation", description=__doc__.split("\n")[0]
    )
    p.add_argument("checkpoint", help=".safetensors generator export or .pt checkpoint")
    p.add_argument("--data", help="training images (default: the dataset the checkpoint names)")
    p.add_argument("--n", type=int, default=512, help="generated samples (default 512)")
    p.add_argument("--heldout", type=int, default=512, help="held-out images (default 512)")
    p.add_argument("--max-train", type=int, help="search a random subset of the training images")
    p.add_argument("--seed", type=int, default=0)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--untrained", action="store_true", help="check a random G of that shape")
    what.add_argument(
        "--replay", action="store_true", help="check a G that replays training images (a copier)"
    )
    flip = p.add_mutually_exclusive_group()
    flip.add_argument("--flips", dest="flips", action="store_true", default=None)
    flip.add_argument("--no-flips", dest="flips", action="store_false")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    if not 8 <= a.n <= 100_000 or not 8 <= a.heldout <= 100_000:
        print("error: --n and --heldout must lie between 8 and 100000.", file=sys.stderr)
        return 2
    try:
        G, cfg, meta = load_generator(a.checkpoint)
        if a.untrained:
            from .models import build

            G = build(cfg, seed=a.seed)[0].eval()
        spec = data_spec(a.checkpoint)
        train, held, source = training_data(spec, cfg.image_size, a.data)
        if a.max_train and a.max_train < len(train):
            pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(a.seed))
            train = train[pick[: a.max_train]]
        if a.replay:
            G = ReplayGenerator(train)
        D, note = discriminator_for(a.checkpoint, cfg, a.seed)
        r = check(
            G,
            cfg.nz,
            train,
            held,
            D=D,
            feature_note=note,
            n_generated=a.n,
            n_heldout=a.heldout,
            seed=a.seed,
            flips=spec.flip if a.flips is None else a.flips,
        )
    except (CheckpointError, DataError, ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    kind = "untrained" if a.untrained else "replay" if a.replay else "trained"
    out = {"checkpoint": a.checkpoint, "data": source, "generator": kind, "seed": a.seed}
    out.update(r.numbers())
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"{a.checkpoint} ({kind} generator) against {source}:")
    print(f"  {len(r.train):,} training images searched; {r.heldout_note}")
    if r.flips:
        print("  mirrored images count as copies (the run trained with flips)")
    for rep in (r.pixel, r.features):
        if rep is not None:
            print("  " + rep.summary())
    print(f"  features from {r.feature_note}")
    print(f"  {r.seconds:.1f} s. {THEIS_CAVEAT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Vector arithmetic you can check: an attribute classifier for the built-in shapes, and a score.

The DCGAN paper's "smiling woman - neutral woman + neutral man" figure is judged by eye. The
shapes data knows every image's shape, colour, size and position, so here a small CNN learns
to read those attributes (trained once per image size on fresh shapes, seeded, seconds on a
CPU, cached beside the data cache), and the arithmetic becomes a number:

    red squares - red + blue  ->  what fraction of the decoded vectors are blue squares?

compared with the fraction of random z that are blue squares already. As in the paper, each
term is the mean z of a few samples (`PER_GROUP`, the paper's 3) that the classifier reads as
that term; many such trials give the fraction.

    python -m dcgan.attributes CHECKPOINT [CHECKPOINT ...] [--expr "red square - red + blue"]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .data import SHAPE_COLOURS, SHAPE_KINDS, SHAPE_SIZES, data_dir, make_shapes
from .i18n import N_, _
from .latent import generate, sample_z

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "shape": SHAPE_KINDS,
    "colour": tuple(SHAPE_COLOURS),
    "size": SHAPE_SIZES,
    "x": ("left", "right"),  # the shape's centre in the left or right half
    "y": ("top", "bottom"),
}
NET_SIZE = 32  # the classifier reads every image at 32x32: one network for every model size
CLASSIFIER_VERSION = 1  # bump when the network or its training changes: old caches retrain
TRAIN_IMAGES = 4096  # as many as the shapes dataset; 98-100 % accuracy per attribute
VALID_IMAGES = 1024
EPOCHS = 3  # with batches of 32: about 400 steps, 99 % on shape, 12 s of one CPU core
BATCH = 32
PER_GROUP = 3  # the paper averaged three samples per concept
MIN_CONFIDENCE = 0.5  # a blurry blob only counts as "blue" when the classifier is fairly sure
DEFAULT_EXPR = "red square - red + blue"


class QueryError(ValueError):
    """An arithmetic query that cannot be scored; the message says why and what to do."""


def refused(msgid: str, **values) -> QueryError:
    """A QueryError in the reader's language; a str value is quoted as the user typed it."""
    shown = {k: repr(v) if k in ("word", "term", "text") else v for k, v in values.items()}
    return QueryError(_(msgid).format(**shown))


# --------------------------------------------------------------------------- classifier


class AttributeNet(nn.Module):
    """Four small convs at 32x32; shape, colour and size read from pooled features (they do
    not depend on where the shape is), left/right and top/bottom from the flattened map."""

    def __init__(self):
        super().__init__()
        # 3 x 32 x 32 -> 32 x 32 x 32 -> 32 x 16 x 16 -> 64 x 8 x 8 -> 64 x 4 x 4
        convs = ((3, 32, 1), (32, 32, 2), (32, 64, 2), (64, 64, 2))  # (in, out, stride)
        self.body = nn.Sequential(
            *(m for i, o, s in convs for m in (nn.Conv2d(i, o, 3, s, 1), nn.ReLU()))
        )
        pooled, flat = 2 * 64, 64 * 4 * 4
        self.heads = nn.ModuleDict(
            {
                k: nn.Linear(flat if k in ("x", "y") else pooled, len(v))
                for k, v in ATTRIBUTES.items()
            }
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.shape[-1] != NET_SIZE:  # 64 or 128 px generators: shapes survive the shrink
            x = nn.functional.interpolate(x, size=(NET_SIZE, NET_SIZE), mode="area")
        h = self.body(x)
        pooled = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        flat = h.flatten(1)
        return {k: head(flat if k in ("x", "y") else pooled) for k, head in self.heads.items()}


def labels_of(attrs: list[dict]) -> dict[str, torch.Tensor]:
    """Ground-truth class indices per attribute from make_shapes' attribute dicts."""
    out = {
        k: torch.tensor([ATTRIBUTES[k].index(a[k]) for a in attrs])
        for k in ("shape", "colour", "size")
    }
    out["x"] = torch.tensor([int(a["x"] >= 0.5) for a in attrs])
    out["y"] = torch.tensor([int(a["y"] >= 0.5) for a in attrs])
    return out


def _to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 or [-1, 1] float images -> float in [-1, 1]."""
    if images.dtype == torch.uint8:
        return images.float().mul(2.0 / 255.0).sub(1.0)
    return images.float()


def _accuracy(net: AttributeNet, images: torch.Tensor, labels: dict) -> dict[str, float]:
    """Fraction correct per attribute."""
    pred = predict(net, images)  # under no_grad
    return {k: float((pred[k][0] == labels[k]).float().mean()) for k in ATTRIBUTES}


def _fit(net: AttributeNet, opt, x: torch.Tensor, y: dict, gen: torch.Generator) -> None:
    """EPOCHS passes over the shapes in shuffled batches."""
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(EPOCHS):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = perm[i : i + BATCH]
            # noise: generated shapes are grainy, and the classifier must still read them
            xb = x[idx] + 0.1 * torch.randn(x[idx].shape, generator=gen)
            out = net(xb)
            loss = sum(loss_fn(out[k], y[k][idx]) for k in ATTRIBUTES)
            opt.zero_grad()
            loss.backward()
            opt.step()


def train_classifier(seed: int = 0) -> tuple[AttributeNet, dict]:
    """Train the classifier on fresh shapes; (net, info with per-attribute accuracy)."""
    # fresh shapes (other seeds than the dataset's), so a generator is never scored by a
    # classifier that saw its own training images
    train = make_shapes(NET_SIZE, n=TRAIN_IMAGES, seed=10_000 + seed)
    valid = make_shapes(NET_SIZE, n=VALID_IMAGES, seed=20_000 + seed)
    x, y = _to_input(train.images), labels_of(train.attributes)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # nn's default init draws from the global RNG
        torch.manual_seed(seed)
        net = AttributeNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    with torch.enable_grad():  # callers (a UI's script thread) may have turned grads off
        _fit(net, opt, x, y, gen)
    net.eval()
    info = {
        "seed": seed,
        "version": CLASSIFIER_VERSION,
        "accuracy": _accuracy(net, valid.images, labels_of(valid.attributes)),
    }
    return net, info


def cache_path(seed: int = 0) -> Path:
    """Where the classifier lives: beside the decoded data cache."""
    name = f"attributes-seed{seed}-v{CLASSIFIER_VERSION}.pt"
    return data_dir() / "cache" / name


def classifier(seed: int = 0, cache: bool = True) -> tuple[AttributeNet, dict]:
    """The cached classifier, trained (seconds) on first use."""
    path = cache_path(seed)
    if cache and path.exists():
        try:
            state = torch.load(path, weights_only=True)
            net = AttributeNet()
            net.load_state_dict(state["weights"])
            return net.eval(), dict(state["info"])
        except Exception:
            pass  # a damaged or stale cache is retrained, never trusted
    net, info = train_classifier(seed)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save({"weights": net.state_dict(), "info": info}, tmp)
        os.replace(tmp, path)  # two servers training at once: the last one wins, whole
    return net, info


@torch.no_grad()
def predict(net: AttributeNet, images: torch.Tensor, batch: int = 512) -> dict:
    """Per attribute: (class index, its probability) for each image."""
    out: dict[str, list] = {k: [] for k in ATTRIBUTES}
    for i in range(0, len(images), batch):
        logits = net(_to_input(images[i : i + batch]))
        for k, v in logits.items():
            out[k].append(v.softmax(1))
    probs = {k: torch.cat(v) for k, v in out.items()}
    return {k: (p.argmax(1), p.amax(1)) for k, p in probs.items()}


# --------------------------------------------------------------------------- arithmetic


Spec = dict[str, str]  # {"shape": "square", "colour": "red"}


def parse_term(text: str) -> Spec:
    """'red squares' -> {'colour': 'red', 'shape': 'square'}; refuses unknown words."""
    spec: Spec = {}
    for word in text.lower().split():
        found = None
        for key, values in ATTRIBUTES.items():
            for v in values:
                if word in (v, v + "s", v + "es"):
                    found = (key, v)
        if found is None:
            known = ", ".join(v for vs in ATTRIBUTES.values() for v in vs)
            raise refused(N_("unknown attribute word {word}; use {known}."), word=word, known=known)
        if found[0] in spec and spec[found[0]] != found[1]:
            msg = N_("{term} names two values of {attribute}; give one per term.")
            raise refused(msg, term=text, attribute=found[0])
        spec[found[0]] = found[1]
    if not spec:
        raise QueryError(_("an empty term; write e.g. 'red square - red + blue'."))
    return spec


def parse_expression(text: str) -> tuple[Spec, Spec, Spec]:
    """'red square - red + blue' -> the three specs A, B, C of A - B + C."""
    m = re.fullmatch(r"\s*([^+\-]+)-([^+\-]+)\+([^+\-]+)", text)
    if not m:
        msg = N_("{text} is not of the form 'A - B + C' (e.g. 'red square - red + blue').")
        raise refused(msg, text=text)
    a, b, c = (parse_term(t) for t in m.groups())
    return a, b, c


def target_of(a: Spec, b: Spec, c: Spec) -> Spec:
    """The attributes A - B + C should have: each value counts +1 in A and C, -1 in B."""
    target: Spec = {}
    for key in ATTRIBUTES:
        count: dict[str, int] = {}
        for spec, sign in ((a, 1), (b, -1), (c, 1)):
            if key in spec:
                count[spec[key]] = count.get(spec[key], 0) + sign
        positive = [v for v, n in count.items() if n > 0]
        if len(positive) > 1:
            msg = N_("the {attribute} of the result is ambiguous ({values}); subtract one in B.")
            raise refused(msg, attribute=key, values=" / ".join(positive))
        if positive:
            target[key] = positive[0]
    if not target:
        raise QueryError(_("A - B + C leaves no attribute to check; keep one in A or C."))
    return target


def matches(pred: dict, spec: Spec, min_confidence: float = MIN_CONFIDENCE) -> torch.Tensor:
    """Which images the classifier reads as every attribute in spec, each confidently."""
    ok = torch.ones(len(next(iter(pred.values()))[0]), dtype=torch.bool)
    for key, value in spec.items():
        idx, conf = pred[key]
        ok &= (idx == ATTRIBUTES[key].index(value)) & (conf >= min_confidence)
    return ok


def describe_spec(spec: Spec) -> str:
    """{'colour': 'blue', 'shape': 'square'} -> 'blue square'."""
    order = ("size", "colour", "shape", "x", "y")
    return " ".join(spec[k] for k in order if k in spec)


@dataclass
class ArithmeticScore:
    """How often A - B + C decodes to the target, against chance and against A alone."""

    expression: str
    target: Spec
    fraction: float  # decoded A - B + C vectors the classifier reads as the target
    random_fraction: float  # random z read as the target: the chance level
    a_fraction: float  # mean z of A alone read as the target: what the arithmetic changed
    trials: int
    n_pool: int
    group_sizes: dict[str, int]  # pool samples read as A, B and C
    classifier_accuracy: dict[str, float] = field(default_factory=dict)
    z: torch.Tensor | None = field(default=None, repr=False)  # (trials, nz, 1, 1) results

    def numbers(self) -> dict:
        """Plain numbers for JSON and docs."""
        rest = ("fraction", "random_fraction", "a_fraction", "trials", "n_pool", "group_sizes")
        head = {"expression": self.expression, "target": describe_spec(self.target)}
        return head | {k: getattr(self, k) for k in rest}

    def summary(self) -> str:
        """One line a class can read."""
        t = describe_spec(self.target)
        return (
            f"{self.expression} -> {t} in {self.fraction:.0%} of {self.trials} trials "
            f"(random z: {self.random_fraction:.0%}; A alone: {self.a_fraction:.0%})"
        )


@torch.no_grad()
def score_arithmetic(
    G: nn.Module,
    nz: int,
    expression: str = DEFAULT_EXPR,
    *,
    net: AttributeNet | None = None,
    seed: int | torch.Generator = 0,
    n_pool: int = 2048,
    trials: int = 200,
    per_group: int = PER_GROUP,
    min_confidence: float = MIN_CONFIDENCE,
) -> ArithmeticScore:
    """Score 'A - B + C' for generator G: draw a pool of z, let the classifier sort them into
    A, B and C, average `per_group` of each per trial, decode, and count target hits."""
    a, b, c = parse_expression(expression)
    target = target_of(a, b, c)
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    info: dict = {}
    if net is None:
        net, info = classifier()
    z = sample_z(n_pool, nz, gen)
    pred = predict(net, generate(G, z))
    groups = {}
    for name, spec in (("A", a), ("B", b), ("C", c)):
        idx = matches(pred, spec, min_confidence).nonzero().flatten()
        if len(idx) < per_group:
            msg = N_(
                "only {found} of {pool} samples look like '{spec}' ({group}); {need} are "
                "needed. Train the generator longer, or draw a bigger pool."
            )
            found, spec_text = len(idx), describe_spec(spec)
            raise refused(msg, found=found, pool=n_pool, spec=spec_text, group=name, need=per_group)
        groups[name] = idx

    def means(idx: torch.Tensor) -> torch.Tensor:
        # per trial, `per_group` distinct members (random ranks via argsort of noise)
        pick = torch.rand(trials, len(idx), generator=gen).argsort(1)[:, :per_group]
        return z[idx[pick]].mean(1)  # (trials, nz, 1, 1)

    za, zb, zc = (means(groups[k]) for k in ("A", "B", "C"))
    result = za - zb + zc
    decoded = predict(net, generate(G, torch.cat([result, za])))
    hits = matches(decoded, target, min_confidence)
    return ArithmeticScore(
        expression=expression.strip(),
        target=target,
        fraction=float(hits[:trials].float().mean()),
        random_fraction=float(matches(pred, target, min_confidence).float().mean()),
        a_fraction=float(hits[trials:].float().mean()),
        trials=trials,
        n_pool=n_pool,
        group_sizes={k: len(v) for k, v in groups.items()},
        classifier_accuracy=info.get("accuracy", {}),
        z=result,
    )


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    """Print the arithmetic score of one or more generators trained on shapes."""
    from .checkpoint import CheckpointError, load_generator

    p = argparse.ArgumentParser(
        prog="python -m dcgan.attributes", description=__doc__.split("\n")[0]
    )
    p.add_argument("checkpoints", nargs="+", help=".safetensors exports or .pt checkpoints")
    p.add_argument("--expr", default=DEFAULT_EXPR, help=f"A - B + C (default {DEFAULT_EXPR!r})")
    p.add_argument("--pool", type=int, default=2048, help="random z drawn and classified")
    p.add_argument("--trials", type=int, default=200, help="arithmetic results decoded")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per checkpoint")
    a = p.parse_args(argv)
    if not 16 <= a.pool <= 100_000 or not 1 <= a.trials <= 10_000:
        print("error: --pool must lie in 16..100000 and --trials in 1..10000.", file=sys.stderr)
        return 2
    net, info = classifier()
    status = 0
    for path in a.checkpoints:
        try:
            G, cfg, meta = load_generator(path)
            r = score_arithmetic(
                G, cfg.nz, a.expr, net=net, seed=a.seed, n_pool=a.pool, trials=a.trials
            )
        except (CheckpointError, QueryError, ValueError) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            if a.json:  # a row per checkpoint, so a table over training keeps its early steps
                print(json.dumps({"checkpoint": path, "error": str(e)}), flush=True)
            status = 2
            continue
        row = {"checkpoint": path, "step": meta.get("step"), **r.numbers()}
        row["classifier_accuracy"] = info["accuracy"]
        if a.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{path} (step {meta.get('step', '?')}): {r.summary()}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

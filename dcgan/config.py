"""Configuration dataclasses, the presets (d2l, paper, classroom-cpu) and `--set KEY=VALUE`.

Every UI (the CLI, the Streamlit widgets, the Gradio Space) builds one of these and hands
it to the engine, so a default lives in exactly one place: here, with the reason beside it.
A preset is one entry of PRESETS: a function that builds its Config and the line of help every
picker shows for it.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .i18n import N_, _

SUPPORTED_IMAGE_SIZES = (32, 64, 128)
D_ACTIVATIONS = ("leaky_relu", "relu")
INIT_SCHEMES = ("d2l", "paper")
PRECISIONS = ("auto", "fp32", "bf16")
REDUCTIONS = ("sum", "mean")
D_NORMS = ("batch", "layer", "none")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and a fix."""


@dataclass(frozen=True)
class ModelConfig:
    """The generator and discriminator architecture."""

    image_size: int = 64  # the chapter's 64x64 sprites; 32 and 128 change the block count
    nc: int = 3  # RGB, as every dataset here is converted to RGB
    nz: int = 100  # the chapter's latent_dim
    ngf: int = 64  # the chapter's n_G: generator width at the last block
    ndf: int = 64  # the chapter's n_D: discriminator width at the first block
    d_activation: str = "leaky_relu"  # the chapter's D; "relu" is its exercise 1
    leaky_alpha: float = 0.2  # the chapter's and the paper's slope for negative inputs
    d_first_bn: bool = True  # the chapter normalises every D block; the paper skips the first
    init: str = "d2l"  # "d2l": N(0, .02) on every parameter; "paper": BN weights N(1, .02)
    d_norm: str = "batch"  # the chapter's BatchNorm in D; WGAN-GP's critic needs layer or none

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field."""
        if self.image_size not in SUPPORTED_IMAGE_SIZES:
            raise ConfigError(
                f"model.image_size={self.image_size} is not supported; "
                f"choose one of {SUPPORTED_IMAGE_SIZES}."
            )
        for name in ("nc", "nz", "ngf", "ndf"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1 or value > 4096:
                raise ConfigError(f"model.{name}={value!r} must be a whole number from 1 to 4096.")
        if self.d_activation not in D_ACTIVATIONS:
            raise ConfigError(
                f"model.d_activation={self.d_activation!r} is unknown; use one of {D_ACTIVATIONS}."
            )
        if not 0.0 <= self.leaky_alpha <= 1.0:
            raise ConfigError(f"model.leaky_alpha={self.leaky_alpha} must lie in [0, 1].")
        if self.init not in INIT_SCHEMES:
            raise ConfigError(f"model.init={self.init!r} is unknown; use one of {INIT_SCHEMES}.")
        if self.d_norm not in D_NORMS:
            raise ConfigError(f"model.d_norm={self.d_norm!r} is unknown; use one of {D_NORMS}.")


@dataclass(frozen=True)
class DataConfig:
    """Where the training images come from and how they are presented."""

    source: str = "shapes"  # built in and offline, so demos and tests never need a download
    classes: tuple[int, ...] | None = None  # Fashion-MNIST class filter; None keeps all ten
    limit: int | None = None  # cap on images kept, for quick demos; None keeps every image
    flip: bool = False  # the chapter does not flip; the option doubles small datasets
    # the decoded set is kept in the data cache, so the next run skips decoding; a Space
    # visitor's upload turns it off, so that deleting their session deletes every copy
    cache: bool = True

    def __post_init__(self) -> None:
        # a list from JSON or a widget becomes a tuple, so equal configs compare and hash equal
        if self.classes is not None and not isinstance(self.classes, tuple):
            object.__setattr__(self, "classes", tuple(self.classes))

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field."""
        if not isinstance(self.source, str) or not self.source.strip():
            raise ConfigError("data.source is empty; name a dataset or a folder/zip of images.")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"data.limit={self.limit} must be at least 1 (or None for all).")
        if not isinstance(self.cache, bool):
            raise ConfigError(f"data.cache={self.cache!r} must be true or false.")
        if self.classes is not None:
            bad = [c for c in self.classes if not 0 <= int(c) <= 9]
            if bad:
                raise ConfigError(f"data.classes has {bad}; Fashion-MNIST classes are 0 to 9.")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, precision and bookkeeping."""

    lr: float = 0.005  # the chapter's learning rate
    beta1: float = 0.5  # the paper's momentum; Adam's 0.9 made DCGAN training oscillate
    beta2: float = 0.999  # Adam's default, kept by the chapter and the paper
    batch_size: int = 256  # the chapter's batch
    epochs: int = 20  # the chapter's epoch count
    steps: int | None = None  # when set, overrides epochs: exact step budgets for demos
    loss_reduction: str = "sum"  # the chapter sums BCE over the batch; the paper averages
    seed: int = 0  # one seed drives init, noise and data order, so runs repeat exactly
    n_samples: int = 64  # fixed-noise images in the timeline grid: an 8x8 grid
    sample_every: int = 50  # steps between timeline grids: ~40 frames in a 2,000-step run
    # ...and at least this many seconds apart (0 = every sample_every steps exactly, so the
    # timeline repeats by seed): the Train page refreshes its grid every second, so a fast run
    # (the classroom preset does ~50 steps/s) would publish grids no viewer sees, each costing
    # the trainer a forward pass and a PNG encode
    sample_min_s: float = 2.0  # twice that refresh, so every viewer sees every grid
    log_every: int = 10  # steps between host syncs of the on-device metrics
    checkpoint_every: int = 200  # steps between last-good checkpoints in a background job
    precision: str = "auto"  # bf16 where the hardware has it (AVX512-BF16/AMX, CUDA), else fp32
    channels_last: bool = True  # NHWC convs ran faster on the CPUs and GPUs measured
    device: str = "auto"  # cuda, then mps, then cpu
    # EMA of G's weights (Yazici et al. 2019): 0.0 = off, as in the chapter. Samples come from
    # the average, which smooths the step-to-step noise of GAN training away; 0.999 averages
    # over roughly the last thousand steps once the warm-up is over.
    ema_decay: float = 0.0  # off by default so the d2l preset stays the chapter exactly
    # decay at step t is min(ema_decay, (1 + t) / (ema_warmup + t)): the average covers about
    # the last 1/(ema_warmup - 1) of training, so early samples are never stuck at the init
    ema_warmup: int = 10  # TensorFlow's ExponentialMovingAverage num_updates rule; 0 = no ramp
    # DiffAugment (Zhao et al. 2020): a comma list of color, translation, cutout applied to
    # real and fake images before D; "" = off
    diffaugment: str = ""  # off by default: it helps small datasets and slows large ones
    loss: str = "bce"  # the chapter's BCE; lsgan, hinge and wgan-gp are in dcgan.losses
    n_critic: int = 1  # D steps per G step: the chapter's 1; the WGAN-GP paper's critic takes 5
    gp_weight: float = 10.0  # WGAN-GP's lambda, the paper's value for every dataset it tried

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field."""
        if not self.lr > 0 or self.lr > 1:
            raise ConfigError(f"train.lr={self.lr} must be greater than 0 and at most 1.")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"train.{name}={value} must lie in [0, 1).")
        positive = ("batch_size", "epochs", "n_samples", "sample_every", "log_every")
        for name in positive + ("checkpoint_every",):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"train.{name}={value!r} must be a whole number of at least 1.")
        if not self.sample_min_s >= 0:
            raise ConfigError(f"train.sample_min_s={self.sample_min_s} must be 0 or more seconds.")
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise ConfigError(f"train.steps={self.steps!r} must be at least 1 (or None).")
        if self.loss_reduction not in REDUCTIONS:
            raise ConfigError(
                f"train.loss_reduction={self.loss_reduction!r} is unknown; use one of {REDUCTIONS}."
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"train.precision={self.precision!r} is unknown; use one of {PRECISIONS}."
            )
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith(
            "cuda:"
        ):
            raise ConfigError(
                f"train.device={self.device!r} is unknown; use auto, cpu, cuda, cuda:N or mps."
            )
        if not isinstance(self.ema_decay, (int, float)) or not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(
                f"train.ema_decay={self.ema_decay!r} must lie in [0, 1): 0 turns the average "
                "off, 0.999 is typical."
            )
        if not isinstance(self.ema_warmup, int) or self.ema_warmup < 0:
            raise ConfigError(
                f"train.ema_warmup={self.ema_warmup!r} must be a whole number of at least 0."
            )
        from .augment import parse_policy  # here, not at the top: augment imports ConfigError

        parse_policy(self.diffaugment)
        from .losses import LOSSES

        if self.loss not in LOSSES:
            raise ConfigError(f"train.loss={self.loss!r} is unknown; use one of {list(LOSSES)}.")
        if not isinstance(self.n_critic, int) or not 1 <= self.n_critic <= 100:
            raise ConfigError(f"train.n_critic={self.n_critic!r} must be a whole number, 1 to 100.")
        if not 0 <= self.gp_weight <= 1000:
            raise ConfigError(f"train.gp_weight={self.gp_weight} must lie in [0, 1000].")


@dataclass(frozen=True)
class Config:
    """Everything one training run needs; it travels inside every checkpoint."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str = "d2l"  # which preset it started from, for labels and model cards

    def validate(self) -> Config:
        """Check every field; return self so calls chain."""
        self.model.validate()
        self.data.validate()
        self.train.validate()
        if self.train.loss == "wgan-gp" and self.model.d_norm == "batch":
            raise ConfigError(
                "train.loss='wgan-gp' needs a critic without BatchNorm: its gradient penalty is "
                "per image and BatchNorm mixes the batch. Set model.d_norm='layer' (the paper's)."
            )
        return self

    def to_dict(self) -> dict:
        """Plain dict of primitives, safe for torch.load(weights_only=True) and JSON."""
        d = dataclasses.asdict(self)
        if d["data"]["classes"] is not None:
            d["data"]["classes"] = list(d["data"]["classes"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        """Rebuild from to_dict() output, refusing unknown fields with a clear message."""
        try:
            data = dict(d.get("data", {}))
            if data.get("classes") is not None:
                data["classes"] = tuple(data["classes"])
            return cls(
                model=ModelConfig(**d.get("model", {})),
                data=DataConfig(**data),
                train=TrainConfig(**d.get("train", {})),
                preset=d.get("preset", "custom"),
            )
        except TypeError as e:
            raise ConfigError(f"config does not match this version of dcgan: {e}") from e

    def replace(self, **overrides) -> Config:
        """A validated copy with dotted overrides, e.g. replace(**{"train.lr": 1e-3})."""
        sections: dict[str, dict] = {}
        top: dict = {}
        for key, value in overrides.items():
            section, _dot, name = key.rpartition(".")
            target = getattr(self, section, None) if section in _SECTIONS else None
            if (section and target is None) or name not in _field_names(target or self):
                raise ConfigError(f"unknown config field {key!r}.")
            (sections.setdefault(section, {}) if section else top)[name] = value
        changed = {s: dataclasses.replace(getattr(self, s), **kw) for s, kw in sections.items()}
        return dataclasses.replace(self, **top, **changed).validate()

    @classmethod
    def with_overrides(cls, preset_name: str, overrides: Mapping[str, Any]) -> Config:
        """The one way a UI's inputs become a config: the named preset with each dotted
        override applied, validated. CLI flags, page widgets and Space inputs all come through
        here; a None value means "keep the preset's value", as an unset flag does."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if given.get("train.loss") == "wgan-gp":  # the paper's critic, unless asked otherwise
            given.setdefault("model.d_norm", "layer")
            given.setdefault("train.n_critic", 5)
        return preset(preset_name).replace(**given)


_SECTIONS = ("model", "data", "train")


def _field_names(obj) -> set[str]:
    """The dataclass fields of obj, the names replace() accepts."""
    return {f.name for f in dataclasses.fields(obj)}


def _d2l() -> Config:
    """The d2l.ai chapter exactly."""
    return Config(preset="d2l")


def _paper() -> Config:
    """Radford et al. 2015 and the LearnOpenCV tutorial."""
    return Config(
        model=ModelConfig(d_first_bn=False, init="paper"),
        train=TrainConfig(
            lr=0.0002,
            batch_size=128,
            loss_reduction="mean",
            epochs=25,
            ema_decay=0.999,  # samples from the weight average: less speckle (checkpoints/)
        ),
        preset="paper",
    )


def _classroom_cpu() -> Config:
    """Small and fast: recognisable shapes within a minute on one core of an AVX2 laptop, fp32.

    Tuned with bench/classroom_tune.py (bench/README.md): narrow nets and small batches buy
    many steps a second, a high lr gets G from grey to white backgrounds in a few hundred
    steps, and the EMA removes the jitter that lr brings.
    """
    return Config(
        # 16 wide: a quarter of the 32-wide net's work per step, and shapes need no more
        model=ModelConfig(image_size=32, ngf=16, ndf=16, d_first_bn=False, init="paper"),
        train=TrainConfig(
            lr=0.002,  # SWD 30 at 60 s where 0.0005 was still noise; the EMA smooths its jitter
            batch_size=32,  # twice the steps of 64 for the same examples: steps are what count
            loss_reduction="mean",
            epochs=40,  # 5,120 steps: about 3 minutes on one AVX2 core in fp32
            sample_every=50,  # a grid every 50 steps, at most one per 2 s (sample_min_s)
            log_every=5,
            ema_decay=0.99,  # a ~100-step average: smooth grids that still follow a live run
        ),
        preset="classroom-cpu",
    )


@dataclass(frozen=True)
class Preset:
    """A named starting point: the function that builds its Config, and its one line of help."""

    build: Callable[[], Config]
    help: str  # marked for the catalogs; presets_help() shows it in the reader's language


PRESETS = {
    "d2l": Preset(_d2l, N_("the chapter exactly")),
    "paper": Preset(_paper, N_("Radford et al.'s learning rate and init, with a weight average")),
    "classroom-cpu": Preset(_classroom_cpu, N_("small and fast on a laptop CPU")),
}


def preset(name: str) -> Config:
    """A fresh Config for a named preset."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
    return PRESETS[name].build()


def presets_help() -> str:
    """'d2l: the chapter exactly. paper: ...' for a preset picker's help."""
    return " ".join(f"{name}: {_(p.help)}." for name, p in PRESETS.items())


def parse_value(text: str) -> Any:
    """A --set value as the config field wants it: 'true' -> True, 'none' -> None, '3' -> 3,
    '1e-3' -> 0.001, '[1, 5]' -> [1, 5]; anything else (color,translation) stays text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text


def parse_sets(items: Iterable[str]) -> dict[str, Any]:
    """['train.lr=1e-3', 'train.diffaugment=color'] -> dotted overrides for Config.replace."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: write KEY=VALUE, e.g. train.lr=0.001.")
        out[key.strip()] = parse_value(raw)
    return out

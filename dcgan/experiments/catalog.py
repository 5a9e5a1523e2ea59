"""The catalog: every experiment as one declarative entry, and the plan one run of it follows.

An experiment is a list of arms, each a label and dotted config overrides on top of one short
classroom-scale base (the classroom-cpu preset, the same seed and the same data). To add one,
add an Entry to CATALOG: its text, its arms, the overrides its arms share, and its hooks (an
on_step probe per arm, extra figures once an arm has trained). The runner, the CLI and the
Experiments page read the entry; none of them names an experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import compare, coverage, losses
from ..config import Config, ConfigError
from ..data import FASHION_CLASSES
from ..i18n import N_, _
from .probes import DeadUnitProbe

BASE_PRESET = "classroom-cpu"  # 32 px, narrow widths: an arm is about a minute on a laptop CPU
STEPS = 600  # steps per arm: under a minute at the measured speed below; shapes appear by then
# Examples/sec of the classroom-cpu base measured on this repo's machine: 560 (bf16, 1 thread
# of a shared AMD EPYC with AVX512-BF16 under a load average of ~11; `python -m
# dcgan.experiments run relu` prints its own). A laptop's free core is faster, so the estimate
# errs long.
MEASURED_EPS = 560.0
LOAD_S = 5.0  # start of an arm: interpreter-free (same process), data from the cache
FIRST_FASHION_LOAD_S = 20.0  # Fashion-MNIST's first decode of 60,000 images into the cache
QUALITY_S = 5.0  # one SWD at n=256, 32 px
DEFAULT_CLASSES = (0, 1, 5, 8, 9)  # T-shirt, Trouser, Sandal, Bag, Ankle boot: varied shapes


@dataclass(frozen=True)
class Arm:
    """One arm: a folder-safe key, a label, and dotted overrides on the experiment's base.
    The label, like an Entry's texts, is an English msgid (the runner writes it into the
    experiment's JSON): the pages _() it to show it."""

    key: str
    label: str
    overrides: dict = field(default_factory=dict)


def class_key(c: int) -> str:
    """'class-1-trouser' for Fashion-MNIST class 1."""
    name = FASHION_CLASSES[c].lower().replace("/", "-").replace(" ", "-")
    return f"class-{c}-{name}"


def class_arms(classes: tuple[int, ...]) -> tuple[Arm, ...]:
    """One arm per Fashion-MNIST class, trained on that class only."""
    if not classes:
        raise ConfigError(_("pick at least one Fashion-MNIST class."))
    bad = [c for c in classes if not 0 <= int(c) <= 9]
    if bad:
        raise ConfigError(
            _("classes {bad} are not Fashion-MNIST classes; use 0 to 9.").format(bad=bad)
        )
    return tuple(
        Arm(class_key(int(c)), FASHION_CLASSES[int(c)], {"data.classes": [int(c)]})
        for c in dict.fromkeys(classes)
    )


def class_baseline(arm: dict, arm_dir: Path, quality_n: int) -> None:
    """after_arm hook: the real-vs-real SWD of the arm's own class, the floor it is ranked by."""
    from .. import runs

    cfg = runs.read_json(arm_dir / runs.CONFIG) or {}
    arm["baseline"] = compare.real_baseline(cfg, n=quality_n)


@dataclass(frozen=True)
class Entry:
    """One experiment of the catalog."""

    name: str
    title: str
    question: str
    look_for: str
    arms: tuple[Arm, ...] = ()  # fixed arms; empty when they are the picked classes
    by_class: bool = False  # one arm per picked Fashion-MNIST class (the page offers a picker)
    base: dict = field(default_factory=dict)  # overrides every arm shares, on the common base
    probe: Callable[[Path], Callable] | None = None  # hook: an arm's on_step(trainer) probe
    after_arm: Callable[[dict, Path, int], None] | None = None  # hook: figures once it trained
    ranked: bool = False  # the results rank the arms by quality over their own floor


CATALOG: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "relu",
            N_("Exercise 1: ReLU instead of LeakyReLU in D"),
            N_(
                "The chapter's discriminator uses LeakyReLU with slope 0.2. What changes with a "
                "plain ReLU (its exercise 1)?"
            ),
            N_(
                "A ReLU unit whose input is negative for every image outputs 0 and gets no "
                "gradient, so once dead it can stay dead; LeakyReLU still passes 0.2 of the "
                "gradient. Watch the dead-unit fraction per D block over the run, then compare "
                "D(G(z)) and the grids: G learns only through the units of D that are alive."
            ),
            arms=(
                Arm("leaky-relu", N_("LeakyReLU (α 0.2)"), {"model.d_activation": "leaky_relu"}),
                Arm("relu", N_("ReLU"), {"model.d_activation": "relu"}),
            ),
            probe=DeadUnitProbe,
        ),
        Entry(
            "fashion-classes",
            N_("Exercise 2: Fashion-MNIST, class by class"),
            N_(
                "Which Fashion-MNIST categories does a DCGAN learn well (the chapter's exercise "
                "2)? Each arm trains on one class only, with the same seed, steps and model."
            ),
            N_(
                "The table ranks the classes by SWD to real images of the same class (lower is "
                "closer). Look at which silhouettes come out clean and which details are lost: "
                "thin straps, prints and textures need more than a minute of a small model."
            ),
            by_class=True,
            base={"data.source": "fashion-mnist"},
            after_arm=class_baseline,  # each arm has its own real images
            ranked=True,
        ),
        Entry(
            "bn-first",
            N_("The paper: BatchNorm on D's first layer or not"),
            N_(
                "The chapter normalises every D block; Radford et al. leave BatchNorm out of D's "
                "input layer (and G's output layer), saying it caused sample oscillation and "
                "instability. Does it matter here?"
            ),
            N_(
                "Compare the loss and D(x)/D(G(z)) curves for oscillation, and the final grids "
                "and SWD. At this short scale the difference can be small; that is an answer too."
            ),
            arms=(
                Arm(
                    "bn-first", N_("BatchNorm on D's first block (d2l)"), {"model.d_first_bn": True}
                ),
                Arm("no-bn-first", N_("No BatchNorm there (paper)"), {"model.d_first_bn": False}),
            ),
        ),
        Entry(
            "lr",
            N_("Learning rate: 0.005 (the chapter) against 2e-4 (the paper)"),
            N_(
                "The chapter trains with lr 0.005; the paper found 0.001 too high and used 2e-4. "
                "Which works better for the same number of steps?"
            ),
            N_(
                "A large lr moves fast and can overshoot: look for D(x) pinned near 1 and "
                "D(G(z)) near 0 (D has won), spiky losses and blotchy grids. A small lr is "
                "steadier but may not get far in a short run."
            ),
            arms=(
                Arm("lr-0.005", N_("lr 0.005 (d2l)"), {"train.lr": 0.005}),
                Arm("lr-2e-4", N_("lr 2e-4 (paper)"), {"train.lr": 0.0002}),
            ),
        ),
        Entry(
            "losses",
            N_("Loss functions: BCE, least squares, hinge and WGAN-GP"),
            N_(
                "The chapter trains with binary cross-entropy; GAN Lab offers least squares too, "
                "and SN-GAN, BigGAN and WGAN-GP train with hinge and Wasserstein losses. With the "
                "same model, seed, data and steps, which gets furthest?"
            ),
            N_(
                "Compare SWD and the grids first. Each loss reads on its own scale (dcgan.losses), "
                "so compare the curves' shapes, not their values. WGAN-GP's critic takes 5 steps "
                "per G step, so its G moves a fifth as often; its −loss_D should shrink as G "
                "improves. Class coverage counts how many of the 12 shape × colour classes G draws."
            ),
            arms=tuple(
                Arm(name, losses.msgid(cls, "title"), {"train.loss": name})
                for name, cls in losses.LOSSES.items()
            ),
            after_arm=coverage.after_arm,
        ),
    )
}


@dataclass(frozen=True)
class Experiment:
    """One run's plan: the entry's text, its arms and their shared base, at chosen sizes."""

    name: str
    title: str
    question: str
    look_for: str
    arms: tuple[Arm, ...]
    base: dict = field(default_factory=dict)
    probe: bool = False  # record dead-unit fractions of D per block over the run
    quality_n: int = compare.QUALITY_N

    def configs(self) -> list[Config]:
        """Each arm's validated config: the base preset, the base overrides, the arm's."""
        return [Config.with_overrides(BASE_PRESET, {**self.base, **a.overrides}) for a in self.arms]

    def estimate_s(self, eps: float = MEASURED_EPS) -> float:
        """Seconds for every arm, from the measured examples/sec (see MEASURED_EPS)."""
        total = 0.0
        fashion_first = True
        for cfg in self.configs():
            steps = cfg.train.steps or cfg.train.epochs * 100
            total += LOAD_S + steps * cfg.train.batch_size / eps + QUALITY_S
            if cfg.data.source == "fashion-mnist" and fashion_first:
                total += FIRST_FASHION_LOAD_S
                fashion_first = False
        return total


def experiment(
    name: str,
    *,
    steps: int | None = None,
    classes: tuple[int, ...] | None = None,
    base: dict | None = None,
    quality_n: int = compare.QUALITY_N,
) -> Experiment:
    """The plan of a catalog entry; steps per arm, Fashion-MNIST classes and extra base
    overrides (tests use small ones) may be changed."""
    if name not in CATALOG:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(CATALOG)}.")
    e = CATALOG[name]
    steps = int(steps or STEPS)
    if steps < 1:
        raise ConfigError(f"steps={steps} must be at least 1.")
    common = {"train.steps": steps, "train.seed": 0, "data.source": "shapes"}
    common["train.sample_every"] = max(1, min(25, steps // 6))  # ~6+ timeline frames per arm
    common["train.sample_min_s"] = 0.0  # frames at the same steps in every arm, to compare
    common["train.log_every"] = max(1, min(5, steps // 10))
    arms = (
        class_arms(tuple(DEFAULT_CLASSES if classes is None else classes)) if e.by_class else e.arms
    )
    plan_base = {**common, **e.base, **(base or {})}
    return Experiment(
        name, e.title, e.question, e.look_for, arms, plan_base, e.probe is not None, quality_n
    )


def all_experiments() -> list[Experiment]:
    """Every experiment with its defaults, in the order the page lists them."""
    return [experiment(n) for n in CATALOG]

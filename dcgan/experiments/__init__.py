"""Experiments: the chapter's exercises and the paper's choices as one-click comparisons.

catalog   every experiment as one declarative entry (CATALOG), and the plan of one run
runner    its arms one after another on the runs folder's job slot; the CLI
results   experiment.json, ExperimentStatus, reading and listing results
probes    what an arm records while it trains (dead units of D)

python -m dcgan.experiments list
python -m dcgan.experiments run relu --root /tmp/x [--steps 600] [--classes 1,5,8]
python -m dcgan.experiments show ROOT/<time>-exp-relu
"""

from .catalog import (
    CATALOG,
    DEFAULT_CLASSES,
    MEASURED_EPS,
    STEPS,
    Arm,
    Entry,
    Experiment,
    all_experiments,
    experiment,
)
from .probes import DeadUnitProbe, read_probes
from .results import (
    ENDED,
    EXPERIMENT,
    LIVE,
    ExperimentStatus,
    list_experiments,
    live_experiment,
    measured_eps,
    read_experiment,
    summary,
)
from .runner import (
    main,
    prepare_experiment,
    run_experiment,
    run_here,
    start_experiment,
    stop_experiment,
)

__all__ = [
    "CATALOG",
    "DEFAULT_CLASSES",
    "ENDED",
    "EXPERIMENT",
    "LIVE",
    "MEASURED_EPS",
    "STEPS",
    "Arm",
    "DeadUnitProbe",
    "Entry",
    "Experiment",
    "ExperimentStatus",
    "all_experiments",
    "experiment",
    "list_experiments",
    "live_experiment",
    "main",
    "measured_eps",
    "prepare_experiment",
    "read_experiment",
    "read_probes",
    "run_experiment",
    "run_here",
    "start_experiment",
    "stop_experiment",
    "summary",
]

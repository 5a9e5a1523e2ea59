"""What several test files share: the tiny training config. Import it as
`from tests.helpers import small_cfg` (conftest.py puts the repo root on sys.path); ports and
bounded waits come from loadtest.net, which bench/ and loadtest/ use too."""

from __future__ import annotations

from dcgan.config import Config, preset


def small_cfg(**over) -> Config:
    """A tiny classroom model (widths 16, batch 32): a step takes milliseconds on one core.

    EMA and DiffAugment are pinned off, so tests of the plain loop do not move when the
    classroom preset is tuned; pass dotted overrides to change anything else.
    """
    return preset("classroom-cpu").replace(
        **{
            "model.ngf": 16,
            "model.ndf": 16,
            "train.batch_size": 32,
            "train.sample_every": 10,
            "train.log_every": 5,
            "train.ema_decay": 0.0,
            "train.diffaugment": "",
            **over,
        }
    )

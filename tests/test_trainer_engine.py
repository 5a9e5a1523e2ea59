"""The trainer's engine choices: speed switches that change the work but not the maths, and
the precision 'auto' picks on each kind of hardware."""

from __future__ import annotations

import torch

from dcgan import hardware
from dcgan.data import make_shapes
from dcgan.trainer import Trainer
from tests.helpers import small_cfg


def test_ablation_switches_change_the_work_not_the_maths():
    """Recomputing G(z), or letting D's weight grads through the G step, gives the same model."""
    cfg = small_cfg(**{"model.ngf": 8, "model.ndf": 8, "train.batch_size": 16})
    cfg = cfg.replace(**{"train.precision": "fp32"})
    data = make_shapes(32, n=64)
    runs = []
    for reuse, freeze in ((True, True), (False, True), (True, False)):
        tr = Trainer(cfg, data)
        tr.reuse_fake, tr.freeze_d_in_g_step = reuse, freeze
        tr.run(5)
        runs.append(tr)
    for other in runs[1:]:
        assert other.history.columns["loss_G"] == runs[0].history.columns["loss_G"]
        for net in ("G", "D"):
            pairs = zip(
                getattr(runs[0], net).parameters(), getattr(other, net).parameters(), strict=True
            )
            assert all(torch.equal(a, b) for a, b in pairs)


def test_auto_precision_falls_back_to_fp32_without_native_bf16(monkeypatch):
    """Emulated bf16 is slower than fp32 (bench/README.md), so 'auto' only picks native bf16."""
    cpu = torch.device("cpu")
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: False)
    assert hardware.pick_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: True)
    assert hardware.pick_precision("auto", cpu) == "bf16"
    assert hardware.pick_precision("fp32", cpu) == "fp32"  # an explicit choice is kept
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    for capability, expected in (((7, 5), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, c=capability: c)
        assert hardware.pick_precision("auto", torch.device("cuda")) == expected

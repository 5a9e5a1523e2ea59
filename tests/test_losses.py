"""The loss switch: each loss's maths against a hand computation, WGAN-GP's critic and n_critic,
the config's refusals, and every loss training 200 steps on shapes from the CLI without NaN."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from dcgan import losses, models
from dcgan.config import Config, ConfigError
from dcgan.train import main as train_main
from dcgan.trainer import Trainer
from tests.helpers import small_cfg

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def test_bce_is_the_chapters_formula_and_g_is_non_saturating():
    bce = losses.make("bce", "sum")
    sig = torch.sigmoid
    by_hand = (-torch.log(sig(REAL)).sum() - torch.log(1 - sig(FAKE)).sum()) / 2
    assert bce.d_loss(REAL, FAKE).item() == pytest.approx(by_hand.item(), rel=1e-6)
    assert bce.g_loss(FAKE).item() == pytest.approx(-torch.log(sig(FAKE)).sum().item(), rel=1e-6)
    assert bce.readout(torch.zeros(4)).item() == 0.5


def test_lsgan_hinge_and_wgan_match_their_papers_by_hand():
    ls = losses.make("lsgan", "mean")
    d = 0.5 * ((REAL - 1) ** 2).mean() + 0.5 * (FAKE**2).mean()
    assert ls.d_loss(REAL, FAKE).item() == pytest.approx(d.item())
    assert ls.g_loss(FAKE).item() == pytest.approx((0.5 * ((FAKE - 1) ** 2).mean()).item())
    hinge = losses.make("hinge", "mean")
    # real: max(0, 1 - [2, -1, .5]) = [0, 2, .5]; fake: max(0, 1 + [-3, 0, 1.5]) = [0, 1, 2.5]
    assert hinge.d_loss(REAL, FAKE).item() == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert hinge.g_loss(FAKE).item() == pytest.approx(-FAKE.mean().item())
    w = losses.make("wgan-gp", "mean")
    assert w.d_loss(REAL, FAKE).item() == pytest.approx(FAKE.mean().item() - REAL.mean().item())
    assert w.readout(REAL).item() == pytest.approx(REAL.mean().item()), "a score, not sigmoid"


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_each_loss_sits_at_its_stated_equilibrium_when_d_cannot_tell(name):
    """The numbers the health hints and the page quote as 'D cannot tell'."""
    loss = losses.make(name, "mean")
    out = torch.full((8,), {"lsgan": 0.5}.get(name, 0.0))  # D's undecided output
    want_d, want_g = losses.scale(name).equilibrium
    assert loss.d_loss(out, out).item() == pytest.approx(want_d)
    assert loss.g_loss(out).item() == pytest.approx(want_g, abs=1e-7)


def test_the_gradient_penalty_is_zero_for_a_1_lipschitz_critic_and_grows_off_it():
    """For a linear critic D(x) = w . x the gradient is w everywhere: penalty (|w| - 1)^2."""
    for scale, want in ((1.0, 0.0), (3.0, 4.0)):
        D = nn.Sequential(nn.Flatten(), nn.Linear(12, 1, bias=False))
        with torch.no_grad():
            D[1].weight.copy_(torch.ones(1, 12) * scale / math.sqrt(12))
        real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
        gp = losses.gradient_penalty(D, real, fake)
        assert gp.item() == pytest.approx(want, abs=1e-5)
    gp.backward()  # create_graph: the penalty trains the critic's weights
    assert D[1].weight.grad is not None and D[1].weight.grad.abs().sum() > 0


def test_wgan_gp_gets_a_critic_without_batchnorm_and_five_critic_steps():
    cfg = Config.with_overrides("classroom-cpu", {"train.loss": "wgan-gp"})
    assert cfg.model.d_norm == "layer" and cfg.train.n_critic == 5
    _, D = models.build(cfg.model)
    kinds = {type(m) for m in D.modules()}
    assert nn.GroupNorm in kinds and nn.BatchNorm2d not in kinds
    with pytest.raises(ConfigError, match="wgan-gp' needs a critic without BatchNorm"):
        Config.with_overrides("classroom-cpu", {"train.loss": "wgan-gp", "model.d_norm": "batch"})
    with pytest.raises(ConfigError, match="train.loss='l2' is unknown"):
        small_cfg(**{"train.loss": "l2"})


def test_n_critic_steps_d_every_step_and_g_every_nth(shapes_small):
    tr = Trainer(small_cfg(**{"train.n_critic": 3}), shapes_small)
    moved = []
    for _ in range(6):
        g0, d0 = snapshot(tr.G), snapshot(tr.D)
        tr.step()
        moved.append((changed(d0, tr.D), changed(g0, tr.G)))
    assert moved == [(True, False), (True, False), (True, True)] * 2


def snapshot(net: nn.Module) -> list[torch.Tensor]:
    """Copies of a network's parameters."""
    return [p.detach().clone() for p in net.parameters()]


def changed(before: list[torch.Tensor], net: nn.Module) -> bool:
    """Whether any parameter of net differs from its snapshot."""
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


@pytest.fixture(scope="module")
def shapes_small():
    from dcgan.data import make_shapes

    return make_shapes(32, n=256, seed=0)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_each_loss_trains_200_steps_on_shapes_from_the_cli_without_nan(name, tmp_path):
    out = tmp_path / name
    argv = ["--preset", "classroom-cpu", "--dataset", "shapes", "--steps", "200"]
    assert train_main([*argv, "--loss", name, "--threads", "1", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 200
    for r in rows:
        for k in ("loss_D", "loss_G", "D_x", "D_G_z1", "grad_norm_G", "grad_norm_D"):
            assert math.isfinite(r[k]), (r["step"], k, r[k])
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["loss"] == name


def hints_for(loss: str, loss_D, loss_G, D_G_z, n: int = 200) -> list:
    """Health hints for a run on `loss` whose metrics are these constants or lists."""
    from dcgan import health

    col = lambda v: list(v) if isinstance(v, list) else [v] * n  # noqa: E731
    series = {"loss_D": col(loss_D), "loss_G": col(loss_G), "D_G_z1": col(D_G_z)}
    cfg = {"train": {"loss": loss, "loss_reduction": "mean", "batch_size": 32}}
    return health.check(cfg, series.__getitem__)


def test_health_hints_read_each_loss_on_its_own_scale():
    collapse = "D's loss is collapsing to 0"
    # a WGAN critic's loss is negative and its D(G(z)) a score far below 0.1: not a collapse
    w = hints_for("wgan-gp", -3.0, 2.0, -5.0)
    assert [h.level for h in w] == ["ok"] and "critic's distance estimate" in w[0].message
    assert "can't" not in w[0].evidence and "critic score" in w[0].evidence
    # ... but a distance estimate that keeps growing is G falling behind
    widening = list(np.linspace(-1.0, -9.0, 200))
    assert "The critic's distance estimate is growing" in [
        h.title for h in hints_for("wgan-gp", widening, 2.0, -5.0)
    ]
    # hinge: D(G(z)) of 0.05 is an undecided score, not a rejected fake; below -1 it is
    assert collapse not in [h.title for h in hints_for("hinge", 0.05, 0.0, 0.05)]
    assert collapse in [h.title for h in hints_for("hinge", 0.05, 2.0, -2.0)]
    # least squares: loss_D 0.05 is still far from D winning (BCE's 0.05 would be)
    assert collapse not in [h.title for h in hints_for("lsgan", 0.05, 0.3, 0.05)]
    assert collapse in [h.title for h in hints_for("lsgan", 0.005, 0.4, 0.05)]
    assert collapse in [h.title for h in hints_for("bce", 0.05, 4.0, 0.05)]
    ok = hints_for("lsgan", 0.25, 0.125, 0.5)
    assert ok[0].level == "ok" and "scores 0.25 and 0.125" in ok[0].evidence


def test_the_train_page_offers_each_loss_explains_it_and_trains_with_it(tmp_path, monkeypatch):
    """Pick WGAN-GP on the Train page: its paragraph is shown, and the job started from the
    page trains a layer-norm critic with 5 critic steps, its charts reading D as a score."""
    from dcgan import runs
    from tests.helpers import open_page
    from ui import jobs

    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page("train", timeout=120)
    assert at.selectbox(key="tr_loss").options == [c.title for c in losses.LOSSES.values()]
    at.selectbox(key="tr_loss").set_value("wgan-gp").run()
    text = " ".join(m.value for m in at.markdown)
    assert "gradient penalty" in text and "must not use BatchNorm" in text
    at.radio(key="tr_unit").set_value("steps")
    at.number_input(key="tr_len").set_value(30).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.endswith("loss wgan-gp.") for s in at.success), "the summary names it"
    job = jobs.current_job()
    cfg = job.config()
    assert (cfg.train.loss, cfg.model.d_norm, cfg.train.n_critic) == ("wgan-gp", "layer", 5)
    assert job.wait(180) and job.status()["status"] == "finished"
    reader = runs.RunReader(job.dir)
    reader.update()
    assert reader.points("loss_D")[0][-1] == 30

"""One step, explained: the explainer's numbers against a hand computation on a tiny linear
GAN, its answers about detach and the frozen D, and "why does loss_G rise?" from curves."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dcgan import models, step_explain
from dcgan.config import ModelConfig

LR = 0.01


def tiny():
    """G: z (2) -> point (3), one linear layer; D: point (3) -> logit, one linear layer."""
    g = torch.Generator().manual_seed(0)
    G, D = nn.Linear(2, 3), nn.Linear(3, 1)
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g))
    real = torch.randn(4, 3, generator=g)
    z = torch.randn(4, 2, generator=g)
    return G, D, real, z


def adam_first_step(w: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Adam's first update from fresh state: bias correction makes it lr * g / (|g| + eps)."""
    return w - LR * grad / (grad.abs() + 1e-8)


def test_the_explained_step_matches_a_hand_computation_on_a_tiny_model():
    G, D, real, z = tiny()
    r = step_explain.explain_step(G, D, real, z, "bce", "mean", lr=LR, betas=(0.5, 0.999))
    w, c = D.weight.detach()[0], D.bias.detach()[0]  # D(x) = w . x + c
    m, a = G.weight.detach(), G.bias.detach()  # G(z) = m z + a
    n, sig = len(real), torch.sigmoid
    fake = z @ m.T + a
    lr_, lf = real @ w + c, fake @ w + c

    # before D's update: D(x), D(G(z)) and the two loss terms, each BCE / 2
    assert r.D_x[0] == pytest.approx(sig(lr_).mean().item(), rel=1e-5)
    assert r.D_G_z[0] == pytest.approx(sig(lf).mean().item(), rel=1e-5)
    assert r.d_terms[0] == pytest.approx((-torch.log(sig(lr_)).mean() / 2).item(), rel=1e-5)
    assert r.d_terms[1] == pytest.approx((-torch.log(1 - sig(lf)).mean() / 2).item(), rel=1e-5)
    assert r.d_update.loss == pytest.approx(sum(r.d_terms), rel=1e-6)

    # D's gradient: dL/dW = ½ mean((σ(l_r) − 1) x) + ½ mean(σ(l_f) G(z)); dL/dc likewise
    g_w = 0.5 * (((sig(lr_) - 1)[:, None] * real).mean(0) + (sig(lf)[:, None] * fake).mean(0))
    gc = 0.5 * ((sig(lr_) - 1).mean() + sig(lf).mean())
    assert r.d_update.layer_grads["weight"] == pytest.approx(g_w.norm().item(), rel=1e-5)
    assert r.d_update.layer_grads["bias"] == pytest.approx(abs(gc.item()), rel=1e-5)
    assert r.d_update.grad_norm == pytest.approx(torch.cat([g_w, gc[None]]).norm().item(), rel=1e-5)

    # after Adam's first step D reads the same batches differently
    w1, c1 = adam_first_step(w, g_w), adam_first_step(c, gc)
    assert r.D_x[1] == pytest.approx(sig(real @ w1 + c1).mean().item(), rel=1e-5)
    assert r.D_G_z[1] == pytest.approx(sig(fake @ w1 + c1).mean().item(), rel=1e-5)
    after = (-torch.log(sig(real @ w1 + c1)).mean() - torch.log(1 - sig(fake @ w1 + c1)).mean()) / 2
    assert r.d_loss_after == pytest.approx(after.item(), rel=1e-5)
    assert r.d_update.changed["weight"] == pytest.approx(((w1 - w).norm() / w.norm()).item(), 1e-4)
    assert r.d_update.other_changed == 0.0 and r.detach_kept_g_out, "D's update leaves G alone"

    # forgetting detach: D's loss would send dL_D/dG(z) = ½ σ(l_f) w / n into G's weights
    up = 0.5 * sig(lf)[:, None] * w[None, :] / n  # (n, 3)
    wrong = torch.cat([(up.T @ z).flatten(), up.sum(0)])
    assert r.forgot_detach == pytest.approx(wrong.norm().item(), rel=1e-5)

    # G's update through the updated, frozen D: loss_G = mean(−log σ(l_f')), l_f' = w1 . G(z)
    lf1 = fake @ w1 + c1
    assert r.g_update.loss == pytest.approx((-torch.log(sig(lf1))).mean().item(), rel=1e-5)
    at_fake = -(1 - sig(lf1))[:, None] * w1[None, :] / n  # dL_G / dG(z)
    assert r.grad_at_fake == pytest.approx(at_fake.norm().item(), rel=1e-5)
    right = torch.cat([(at_fake.T @ z).flatten(), at_fake.sum(0)])
    assert r.g_update.grad_norm == pytest.approx(right.norm().item(), rel=1e-5)
    cos = torch.dot(wrong, right) / (wrong.norm() * right.norm())
    assert r.forgot_detach_cos == pytest.approx(cos.item(), abs=1e-5)
    # what loss_G would give D's own weights, had D not been frozen: dL_G/dW = mean(−(1−σ) G(z))
    to_D = torch.cat([(-(1 - sig(lf1))[:, None] * fake).mean(0), (-(1 - sig(lf1))).mean()[None]])
    assert r.grad_to_d_in_g_step == pytest.approx(to_D.norm().item(), rel=1e-5)
    m1, a1 = adam_first_step(m, at_fake.T @ z), adam_first_step(a, at_fake.sum(0))
    lf2 = (z @ m1.T + a1) @ w1 + c1
    assert r.D_G_z[2] == pytest.approx(sig(lf2).mean().item(), rel=1e-5)
    assert r.g_loss_after == pytest.approx((-torch.log(sig(lf2))).mean().item(), rel=1e-5)
    assert r.g_update.other_changed == 0.0, "G's update leaves D alone"
    # the caller's networks are untouched: the explainer works on copies
    assert torch.equal(D.weight.detach()[0], w) and torch.equal(G.weight.detach(), m)


def test_on_a_dcgan_forgetting_detach_would_push_g_against_its_own_gradient():
    cfg = ModelConfig(image_size=32, ngf=4, ndf=4, nz=8)
    G, D = models.build(cfg, seed=0)
    g = torch.Generator().manual_seed(1)
    real = torch.rand(8, 3, 32, 32, generator=g) * 2 - 1
    z = torch.randn(8, 8, 1, 1, generator=g)
    r = step_explain.explain_step(G, D, real, z)
    assert r.forgot_detach > 0 and r.forgot_detach_cos < 0
    assert r.detach_kept_g_out and r.d_update.other_changed == r.g_update.other_changed == 0
    assert set(r.d_update.changed) == {k for k, _ in D.named_parameters()}
    assert all(v > 0 for v in r.g_update.changed.values() if v == v)
    assert r.grad_to_d_in_g_step > 0, "loss_G has a gradient for D: the frozen D ignores it"
    w = step_explain.explain_step(G, D, real, z, loss="wgan-gp")
    assert w.penalty > 0 and w.output.startswith("critic score")


def test_why_loss_g_rises_reads_the_curves():
    n = 100
    loss_G = [1.0 + 2.0 * i / n for i in range(n)]
    D_x = [0.6 + 0.3 * i / n for i in range(n)]
    D_G_z = [0.4 - 0.3 * i / n for i in range(n)]
    a = step_explain.why_loss_g_rises(loss_G, D_x, D_G_z)
    assert a.rose and a.loss_G[1] > a.loss_G[0] + 1.5
    assert "D is winning the race" in a.text and f"{a.loss_G[1]:.2f}" in a.text
    flat = step_explain.why_loss_g_rises([1.0 + 0.02 * i / n for i in range(n)], D_x, [0.4] * n)
    assert not flat.rose and "did not rise" in flat.text, "a 2 % wobble is not a rise"
    # a WGAN critic: loss_G climbs because the scores drift, so the answer reads the gap
    drift = [-5.0 - 30 * i / n for i in range(n)]
    w = step_explain.why_loss_g_rises([-d for d in drift], [d + 8 for d in drift], drift, "wgan-gp")
    assert w.rose and "no fixed zero" in w.text and "went from 8.00 to 8.00" in w.text
    assert step_explain.why_loss_g_rises([1.0] * 5, [0.5] * 5, [0.5] * 5) is None


def test_the_page_explains_a_fresh_models_step_and_applies_it(tmp_path, monkeypatch):
    """No run yet: the page takes a fresh classroom model on shapes, draws both updates with
    their numbers, and the button applies the step to the session's copy."""
    pytest.importorskip("streamlit")
    from tests.helpers import open_page

    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = open_page("one_step", timeout=120)
    dots = [el.proto.spec for el in at.get("graphviz_chart")]
    assert len(dots) == 2 and "detach()" in dots[0] and "(frozen)" in dots[1]
    text = " ".join(m.value for m in at.markdown)
    assert "D(x), on the real batch (P(real))" in text and "cosine with G's own gradient" in text
    assert "0 step(s) taken" in " ".join(c.value for c in at.caption)
    before = [p.detach().clone() for p in at.session_state["os_model"]["G"].parameters()]
    next(b for b in at.button if b.label.startswith("Apply this step")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "1 step(s) taken" in " ".join(c.value for c in at.caption)
    after = list(at.session_state["os_model"]["G"].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert any("Too few points to judge" in i.value for i in at.info)

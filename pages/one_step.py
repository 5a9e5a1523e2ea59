"""One step, explained: a DCGAN training step taken apart on a real model (the training job's
latest checkpoint, else a fresh classroom model on shapes). dcgan.step_explain does the work;
this page draws the two updates as diagrams with their numbers and answers the usual questions.
"""

from __future__ import annotations

import copy
import re

import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from dcgan import checkpoint as ckpt
from dcgan import models, plots, runs, step_explain
from dcgan.config import Config, preset
from dcgan.data import DataError, load, source_label, to_model_range
from dcgan.i18n import N_, _, number
from dcgan.latent import sample_z
from ui import nav
from ui.jobs import current_job, shared_run

nav.page_setup()
st.title(_("One step, explained"))
st.markdown(
    _(
        "Every training step is two updates. **D's update**: a real batch x and a fake batch "
        "G(z) go through D, and D's loss pushes D(x) up and D(G(z)) down. The fakes are "
        "`G(z).detach()`, so D's loss stops at the cut and never reaches G. **G's update**: "
        "the same G(z) goes through D again, now frozen in effect; G's loss flows back "
        "*through* D's layers into G, and only G's weights move. Below is one real step of a "
        "real model, with its numbers: press the button to apply it and look at the next."
    )
)
ss = st.session_state


@st.cache_resource(show_spinner=_("Loading the training images…"), max_entries=2)
def images(source: str, size: int, classes: tuple[int, ...] | None) -> torch.Tensor:
    """The model's training images, uint8, decoded once for every session."""
    return load(source, size, classes).images


def fresh_model(seed: int) -> dict:
    """An untrained classroom-cpu model on shapes, the page's stand-in when no run exists."""
    cfg = preset("classroom-cpu")
    G, D = models.build(cfg.model, seed=seed)
    return {"cfg": cfg, "G": G, "D": D, "states": None, "step": None}


def job_model(path) -> dict:
    """G, D and both Adam states from a run's last checkpoint."""
    state = ckpt.load(path)
    cfg = Config.from_dict(state["config"])
    G, D = models.build(cfg.model, seed=None)
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    states = (state["opt_G"], state["opt_D"])
    return {"cfg": cfg, "G": G, "D": D, "states": states, "step": int(state.get("step", 0))}


def model_label(model: dict) -> str:
    """Which model the session steps, in the session's language (drawn, never stored)."""
    if model.get("step") is None:
        return _("A fresh classroom-cpu model")
    return _("The training job's model at step {step}").format(step=number(model["step"]))


def num(value: float, spec: str) -> str:
    """`value` formatted by `spec` (".4f", "+.4f", ".4g"), with the language's decimal mark;
    scientific notation and nan stay as Python writes them."""
    text = format(value, spec)
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        return text
    digits = len(text.split(".")[1]) if "." in text else 0
    return ("+" if text.startswith("+") else "") + number(float(text), digits)


def either(first: bool, if_first: str, otherwise: str, **values) -> str:
    """One of two translated sentences that take the same values, picked by `first`."""
    return (if_first if first else otherwise).format(**values)


def start(model: dict) -> dict:
    """The session's own copy of a model and its optimisers, stepped in place by the button."""
    t = model["cfg"].train
    G, D = copy.deepcopy(model["G"]), copy.deepcopy(model["D"])
    opt_G = torch.optim.Adam(G.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
    opt_D = torch.optim.Adam(D.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))
    if model["states"] is not None:
        opt_G.load_state_dict(model["states"][0])
        opt_D.load_state_dict(model["states"][1])
    return {**model, "G": G, "D": D, "opts": (opt_G, opt_D), "taken": 0, "history": []}


job = current_job()
last = job.dir / runs.LAST if job is not None and (job.dir / runs.LAST).exists() else None
c = st.columns([3, 1, 1, 2])
sources = (["job"] if last is not None else []) + ["fresh"]
SOURCE_LABELS = {"job": N_("the training job's latest checkpoint"), "fresh": N_("a fresh model")}
src = c[0].radio(
    _("Model"),
    sources,
    format_func=lambda v: _(SOURCE_LABELS[v]),
    horizontal=True,
    key="os_src",
)
batch = c[1].select_slider(_("Batch"), (4, 8, 16, 32, 64), 16, key="os_batch")
seed = int(c[2].number_input(_("Seed"), 0, 10_000, 0, key="os_seed"))
c[3].write("")
restart = c[3].button(
    _("Start over"),
    width="stretch",
    help=_("Reload the model: the job's newest checkpoint, or a fresh model for this seed."),
)
key = (src, str(last) if src == "job" else seed)  # a newer checkpoint waits for Start over
if restart or ss.get("os_model", {}).get("key") != key:
    try:
        ss.os_model = {**start(job_model(last) if src == "job" else fresh_model(seed)), "key": key}
    except (ckpt.CheckpointError, KeyError, RuntimeError) as e:
        st.warning(
            _("The job's checkpoint cannot be read ({error}); using a fresh model instead.").format(
                error=e
            )
        )
        ss.os_model = {**start(fresh_model(seed)), "key": key}
m = ss.os_model
cfg = m["cfg"]
try:
    pool = images(cfg.data.source, cfg.model.image_size, cfg.data.classes)
except DataError as e:
    st.error(
        _("{source} cannot be loaded here ({error}). Pick 'a fresh model' (shapes).").format(
            source=_(source_label(cfg.data.source)), error=e
        )
    )
    st.stop()


def batch_at(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real batch and latents of the session's step `step`: seeded, so a rerun repeats."""
    g = torch.Generator().manual_seed(seed * 100_003 + step)
    idx = torch.randint(len(pool), (batch,), generator=g)
    return to_model_range(pool[idx]), sample_z(batch, cfg.model.nz, g)


def explain(in_place: bool) -> step_explain.StepReport:
    """The session model's next step: previewed on copies, or applied."""
    t = cfg.train
    real, z = batch_at(m["taken"])
    G, D, opts = m["G"], m["D"], m["opts"]
    if not in_place:  # a preview must not move the session's optimisers either
        G, D = copy.deepcopy(G), copy.deepcopy(D)
        opts = None
    states = None if in_place else tuple(o.state_dict() for o in m["opts"])
    return step_explain.explain_step(
        G, D, real, z, t.loss, t.loss_reduction, t.lr, (t.beta1, t.beta2),
        opt_states=states, in_place=True, optimizers=opts,
    )  # fmt: skip


if st.button(_("Apply this step and show the next"), type="primary"):
    m["history"].append(explain(in_place=True))
    m["taken"] += 1
r = explain(in_place=False)
st.caption(
    _(
        "{model}: {source}, {size} px, loss {loss}, lr {lr}, batch {batch}; {taken} step(s) taken "
        "on this page (the job itself is never changed). Computed in fp32."
    ).format(
        model=model_label(m),
        source=_(source_label(cfg.data.source)),
        size=cfg.model.image_size,
        loss=cfg.train.loss,
        lr=f"{cfg.train.lr:g}",
        batch=batch,
        taken=number(m["taken"]),
    )
)

st.subheader(_("1. D's update"))
st.graphviz_chart(step_explain.d_step_dot(r), width="stretch")
st.subheader(_("2. G's update"))
st.graphviz_chart(step_explain.g_step_dot(r), width="stretch")
st.caption(_("Black: the forward pass. Red, dashed: the gradients of this step, with their norms."))

(a0, a1), (b0, b1, b2) = r.D_x, r.D_G_z
d_before, g_before = r.d_update.loss - r.penalty, r.g_update.loss
d_verdict = either(
    r.d_loss_after < d_before,
    _(
        "D's update moved D(x) by {dx} and D(G(z)) by {dgz}; its loss on this batch went from "
        "{before} to {after}: D got better at telling them apart."
    ),
    _(
        "D's update moved D(x) by {dx} and D(G(z)) by {dgz}; its loss on this batch went from "
        "{before} to {after}. It rose: Adam follows its running average of past gradients, not "
        "this batch's alone, so one step can cost this batch."
    ),
    dx=num(a1 - a0, "+.4f"),
    dgz=num(b1 - b0, "+.4f"),
    before=num(d_before, ".4f"),
    after=num(r.d_loss_after, ".4f"),
)
g_verdict = either(
    r.g_loss_after < g_before,
    _(
        "loss_G went from {before} to {after}, the fakes now look more real to the D that just "
        "learned."
    ),
    _(
        "loss_G went from {before} to {after}, G's step did not help on this batch (Adam's "
        "momentum again)."
    ),
    before=num(g_before, ".4f"),
    after=num(r.g_loss_after, ".4f"),
)
d_terms = either(
    bool(r.penalty),
    _("D's loss terms: {real} on the real batch, {fake} on the fakes, gradient penalty {penalty}."),
    _("D's loss terms: {real} on the real batch, {fake} on the fakes."),
    real=num(r.d_terms[0], ".4f"),
    fake=num(r.d_terms[1], ".4f"),
    penalty=num(r.penalty, ".4f"),
)
table = [
    ["", _("before D's update"), _("after D's update"), _("after G's update")],
    [
        _("D(x), on the real batch ({output})").format(output=_(r.output)),
        num(a0, ".4f"),
        num(a1, ".4f"),
        _("(D unchanged)"),
    ],
    [_("D(G(z)), on the same fakes"), num(b0, ".4f"), num(b1, ".4f"), num(b2, ".4f")],
    [_("gradient norm reaching D"), "", num(r.d_update.grad_norm, ".4g"), _("0: D frozen")],
    [_("gradient norm reaching G"), "", _("0: detach"), num(r.g_update.grad_norm, ".4g")],
    [
        _("largest change of the other network's weights"),
        "",
        "G: " + num(r.d_update.other_changed, "g"),
        "D: " + num(r.g_update.other_changed, "g"),
    ],
]
rows = ["| " + " | ".join(row) + " |" for row in table]
st.markdown(
    "\n".join([rows[0], "|---|---|---|---|", *rows[1:]])
    + "\n\n"
    + d_verdict
    + " "
    + _("G's update then moved D(G(z)) by {dgz}: {verdict}").format(
        dgz=num(b2 - b1, "+.4f"), verdict=g_verdict
    )
    + "\n"
    + d_terms
)


def changes_figure(r: step_explain.StepReport) -> go.Figure:
    """Relative change of each parameter tensor in each update: D's moved in D's update and
    G's in G's, nothing else."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("D's update: D's parameters"),
                        _("G's update: G's parameters")))  # fmt: skip
    for col, upd in ((1, r.d_update), (2, r.g_update)):
        names = list(upd.changed)
        fig.add_bar(x=names, y=[upd.changed[n] for n in names], row=1, col=col, showlegend=False)
    fig.update_yaxes(title_text="‖Δw‖ / ‖w‖", type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=320, margin=dict(l=40, r=10, t=40, b=80))
    return fig


st.subheader(_("Which parameters changed"))
st.plotly_chart(changes_figure(r), key="os_changes")
st.caption(
    _(
        "Each bar is one weight tensor (a conv's weights, a BatchNorm's scale or shift), named as "
        "in the model. Adam moves each element by at most about the learning rate, whatever the "
        "size of its gradient, so tensors of small weights (convs, about 0.02) change by a larger "
        "share than BatchNorm scales near 1. Only the updated network's bars exist: the other "
        "one's weights did not move at all (the table's last row)."
    )
)

st.subheader(_("What if we forget detach?"))
harm = either(
    r.forgot_detach_cos < 0,
    _(
        "Its cosine with G's own gradient is **{cos}**: it points against G's goal, because D's "
        "loss rewards fakes that look fake."
    ),
    _(
        "Its cosine with G's own gradient is **{cos}**: it points along G's goal, because D's "
        "loss rewards fakes that look fake."
    ),
    cos=num(r.forgot_detach_cos, "+.2f"),
)
st.markdown(
    _(
        "Without `.detach()`, D's loss would also reach G: measured on this step, a gradient of "
        "norm **{norm}** on G's weights (G's own update gets {own})."
    ).format(norm=num(r.forgot_detach, ".4g"), own=num(r.g_update.grad_norm, ".4g"))
    + " "
    + harm
    + " "
    + _(
        "The chapter zeroes G's gradients before G's update, so the damage would be wasted work "
        "(a backward pass through G, {ms} ms here); without that zeroing the two would add up "
        "and G would partly undo its own step."
    ).format(ms=num(r.forgot_detach_ms, ".0f"))
)

st.subheader(_("Why does loss_G rise while the samples improve?"))
if job is not None and src == "job":
    run = shared_run(str(job.dir))  # the server's one reader of the run, not a re-read per rerun
    run.refresh()
    steps, loss_D = run.series("loss_D")
    loss_G, D_x, D_G_z = (run.series(k)[1] for k in ("loss_G", "D_x", "D_G_z1"))
    where = _("run {name}'s own curves").format(name=job.dir.name)
else:
    h = m["history"]
    steps, loss_D = list(range(1, len(h) + 1)), [x.d_update.loss for x in h]
    loss_G, D_x, D_G_z = ([x.g_update.loss for x in h], [x.D_x[0] for x in h],
                          [x.D_G_z[0] for x in h])  # fmt: skip
    where = _("the {n} steps taken on this page").format(n=number(len(h)))
answer = step_explain.why_loss_g_rises(loss_G, D_x, D_G_z, cfg.train.loss)
if answer is None:
    st.info(
        _(
            "Too few points to judge: take at least 10 steps here, or train a run on the Train "
            "page and pick 'the training job's latest checkpoint'."
        )
    )
else:
    st.markdown(_("From {where}: {answer}").format(where=where, answer=answer.text))
    k = st.columns(2)
    lf = plots.loss_figure(steps, loss_D, loss_G, 0.6, cfg.train.loss)
    k[0].plotly_chart(lf, key="os_losses")
    k[1].plotly_chart(plots.d_outputs_figure(steps, D_x, D_G_z, 0.6, cfg.train.loss), key="os_d")

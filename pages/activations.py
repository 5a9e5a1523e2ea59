"""Activations: LeakyReLU for several α, its derivative, and why ReLU lets a unit of D die."""

import numpy as np
import streamlit as st

from dcgan import explain, plots
from dcgan.i18n import _, number, percent
from ui import jobs, nav

nav.page_setup()

st.title(_("Activations"))
st.markdown(
    _(
        "The chapter's discriminator uses **LeakyReLU**: `max(0, x) + α·min(0, x)`. With α = 0 "
        "it is ReLU; with α = 1 it is the identity. A small α keeps a little gradient flowing "
        "for negative inputs, which matters for D: its gradient is the only signal G ever gets."
    )
)

cfg, source = jobs.current_config()
m = cfg.model
current = 0.0 if m.d_activation == "relu" else float(m.leaky_alpha)
act = "ReLU" if m.d_activation == "relu" else f"LeakyReLU(α = {current:g})"
st.caption(
    _("D currently uses {act}, from {source}; it is drawn bold below.").format(
        act=act, source=source
    )
)

options = [round(a, 2) for a in np.arange(0.0, 1.01, 0.1)]
alphas = st.multiselect(
    _("α values to compare"),
    options,
    default=list(explain.CHAPTER_ALPHAS),
    format_func=lambda a: f"{a:g}",
    key="act_alphas",
)
if not alphas:
    st.info(_("Pick at least one α to draw."))
else:
    c1, c2 = st.columns(2)
    c1.plotly_chart(plots.leaky_relu_figure(sorted(alphas), current=current), key="act_f")
    c2.plotly_chart(
        plots.leaky_relu_figure(sorted(alphas), current=current, derivative=True), key="act_df"
    )

st.subheader(_("Why a zero gradient lets a unit die"))
st.markdown(
    _(
        "A unit's weights change only through the gradient that flows back through its "
        "activation. Under ReLU that gradient is exactly 0 wherever the unit's input is "
        "negative. If a big update pushes a unit's bias so far down that it is negative for "
        "**every** input, no gradient reaches it again: the unit is dead for good. LeakyReLU "
        "still passes α times the gradient, so the unit can recover. Below, 64 units see 256 "
        "inputs; drag the bias shift down and watch units die under ReLU."
    )
)
c1, c2 = st.columns([1, 1])
shift = c1.slider(
    _("Bias shift (how negative the units start)"), -4.0, 1.0, -1.5, 0.25, key="act_shift"
)
alpha = c2.slider(_("α of the activation"), 0.0, 1.0, 0.0, 0.05, key="act_demo_alpha")
rng = np.random.default_rng(0)
x = rng.standard_normal((256, 16))  # a batch of inputs
W = rng.standard_normal((16, 64)) / 4  # 64 units
bias = shift + rng.standard_normal(64)  # some units pushed further than others
pre = x @ W + bias
dead = explain.dead_fraction(pre, alpha)
never_positive = float((pre <= 0).all(axis=0).mean())
grad = explain.leaky_relu_grad(pre, alpha).mean()
c = st.columns(3)
c[0].metric(_("Units negative for every input"), percent(never_positive))
c[1].metric(_("Dead units (zero gradient always)"), percent(dead))
c[2].metric(_("Mean gradient through the activation"), number(grad, 2))
st.plotly_chart(plots.dead_units_figure(pre, alpha), key="act_dead")
st.caption(
    _(
        "This is the chapter's exercise 1: set D's activation to ReLU on the Train page and "
        "compare the run with LeakyReLU."
    )
)

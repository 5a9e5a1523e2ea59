"""Checkable arithmetic: the DCGAN paper's latent vector arithmetic on the built-in shapes,
scored by an attribute classifier instead of by eye (dcgan.attributes does the work)."""

import streamlit as st

from dcgan import attributes as at
from dcgan import explore
from dcgan.i18n import N_, _, number, percent
from ui import lab, links
from ui.nav import page_setup

EXAMPLES = (
    "red square - red + blue",
    "blue circle - blue + yellow",
    "green triangle - triangle + circle",
    "large red square - large + small",
)
# the classifier's attributes (dcgan.attributes' keys) as its accuracy line names them; x and y
# are the position's axes, symbols in every language
ATTRIBUTE_LABELS = {"shape": N_("shape"), "colour": N_("colour"), "size": N_("size")}


page_setup()

st.title(_("Checkable arithmetic"))
st.markdown(
    _(
        "The DCGAN paper showed that averages of noise vectors behave like concepts: "
        "*smiling woman − neutral woman + neutral man* gave smiling men. The built-in shapes know "
        "every image's shape, colour, size and position, so a small classifier can check the "
        "arithmetic for us. Each trial averages the z of 3 samples per term (as the paper did), "
        "computes A − B + C, and asks the classifier what G drew.\n\n"
        "**What to look for:** the first number against the second. If A − B + C gives the "
        "target far more often than random z does, the latent space has directions for "
        "colour and shape. Watch it grow as a shapes run trains: score the training job now, and "
        "again in a few hundred steps."
    )
)

gen, path = lab.pick_generator("arith_gen")
spec = lab.data_spec(path)
if spec.source not in (None, "shapes"):
    st.warning(
        _(
            "This generator trained on {source}, but the classifier only knows the "
            "built-in shapes, so its numbers mean little here. Train on the shapes (Train page, "
            "dataset 'Built-in shapes') and pick that run."
        ).format(source=spec.source)
    )

c = st.columns([2, 1, 1, 1])
expression = c[0].text_input(
    "A − B + C",
    EXAMPLES[0],
    key="arith_expr",
    bind="query-params",
    help=_(
        "Words: colours (red, green, blue, yellow), shapes (circle, square, triangle), "
        "sizes (small, large), positions (left, right, top, bottom). Try: {examples}"
    ).format(examples="; ".join(EXAMPLES)),
)
pool = c[1].select_slider(
    _("Random z drawn"),
    [512, 1024, 2048, 4096],
    2048,
    key="arith_pool",
    bind="query-params",
)
trials = c[2].select_slider(
    _("Trials"), [50, 100, 200, 500], 200, key="arith_trials", bind="query-params"
)
seed = c[3].number_input(_("Seed"), 0, 100_000, 0, key="arith_seed", bind="query-params")
settings = (gen.label, expression, pool, trials, seed)
links.share(("arith_expr", "arith_pool", "arith_trials", "arith_seed"))

if st.button(_("Score it"), type="primary", key="arith_run"):
    try:
        with st.spinner(_("Scoring (the first time also trains the classifier: about 15 s)...")):
            score, grid = explore.arithmetic_score(
                gen.G, gen.cfg.nz, expression, int(seed), pool, trials
            )
        st.session_state["arith_score"] = (settings, score, grid)
    except at.QueryError as e:
        st.session_state.pop("arith_score", None)
        st.warning(str(e))

saved = st.session_state.get("arith_score")
if saved is None or saved[0] != settings:
    st.stop()
score: at.ArithmeticScore = saved[1]
grid: bytes = saved[2]
target = at.describe_spec(score.target)
m = st.columns(3)
m[0].metric(
    _("A − B + C drew a {target}").format(target=target),
    percent(score.fraction),
    delta=_("{diff} vs random z").format(
        diff=percent(score.fraction - score.random_fraction, signed=True)
    ),
)
m[1].metric(
    _("Random z drew a {target}").format(target=target),
    percent(score.random_fraction),
    help=_("chance level"),
)
m[2].metric(
    _("A alone drew a {target}").format(target=target),
    percent(score.a_fraction),
    help=_("the mean z of A without the arithmetic: what the subtraction and addition changed"),
)
st.image(
    grid,
    caption=_("The first 32 of {trials} results of {expression}").format(
        trials=number(score.trials), expression=score.expression
    ),
    output_format="PNG",
)
st.caption(
    _(
        "Pool of {pool} random z: {a} read as A, {b} as B, {c} as C. A sample counts only when "
        "the classifier is at least {confidence} sure of each attribute. "
        "Command line: `python -m dcgan.attributes CHECKPOINT --expr '...'`."
    ).format(
        pool=number(score.n_pool),
        a=number(score.group_sizes["A"]),
        b=number(score.group_sizes["B"]),
        c=number(score.group_sizes["C"]),
        confidence=percent(at.MIN_CONFIDENCE),
    )
)
if score.classifier_accuracy:
    acc = ", ".join(
        f"{_(ATTRIBUTE_LABELS[k]) if k in ATTRIBUTE_LABELS else k} {percent(v)}"
        for k, v in score.classifier_accuracy.items()
    )
    st.caption(
        _("The classifier's accuracy on fresh shapes it never trained on: {accuracy}.").format(
            accuracy=acc
        )
    )

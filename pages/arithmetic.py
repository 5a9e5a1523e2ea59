"""Checkable arithmetic: the DCGAN paper's latent vector arithmetic on the built-in shapes,
scored by an attribute classifier instead of by eye (dcgan.attributes does the work)."""

import streamlit as st

from dcgan import attributes as at
from dcgan import explore
from ui import lab, links
from ui.nav import page_setup

EXAMPLES = (
    "red square - red + blue",
    "blue circle - blue + yellow",
    "green triangle - triangle + circle",
    "large red square - large + small",
)

page_setup()

st.title("Checkable arithmetic")
st.markdown(
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

gen, path = lab.pick_generator("arith_gen")
spec = lab.data_spec(path)
if spec.source not in (None, "shapes"):
    st.warning(
        f"This generator trained on {spec.source}, but the classifier only knows the "
        "built-in shapes, so its numbers mean little here. Train on the shapes (Train page, "
        "dataset 'Built-in shapes') and pick that run."
    )

c = st.columns([2, 1, 1, 1])
expression = c[0].text_input(
    "A − B + C",
    EXAMPLES[0],
    key="arith_expr",
    bind="query-params",
    help="Words: colours (red, green, blue, yellow), shapes (circle, square, triangle), "
    "sizes (small, large), positions (left, right, top, bottom). Try: " + "; ".join(EXAMPLES),
)
pool = c[1].select_slider(
    "Random z drawn", [512, 1024, 2048, 4096], 2048, key="arith_pool", bind="query-params"
)
trials = c[2].select_slider(
    "Trials", [50, 100, 200, 500], 200, key="arith_trials", bind="query-params"
)
seed = c[3].number_input("Seed", 0, 100_000, 0, key="arith_seed", bind="query-params")
settings = (gen.label, expression, pool, trials, seed)
links.share(("arith_expr", "arith_pool", "arith_trials", "arith_seed"))

if st.button("Score it", type="primary", key="arith_run"):
    try:
        with st.spinner("Scoring (the first time also trains the classifier: about 15 s)..."):
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
    f"A − B + C drew a {target}",
    f"{score.fraction:.0%}",
    delta=f"{score.fraction - score.random_fraction:+.0%} vs random z",
)
m[1].metric(f"Random z drew a {target}", f"{score.random_fraction:.0%}", help="chance level")
m[2].metric(
    f"A alone drew a {target}",
    f"{score.a_fraction:.0%}",
    help="the mean z of A without the arithmetic: what the subtraction and addition changed",
)
st.image(
    grid,
    caption=f"The first 32 of {score.trials} results of {score.expression}",
    output_format="PNG",
)
st.caption(
    f"Pool of {score.n_pool} random z: {score.group_sizes['A']} read as A, "
    f"{score.group_sizes['B']} as B, {score.group_sizes['C']} as C. A sample counts only when "
    f"the classifier is at least {at.MIN_CONFIDENCE:.0%} sure of each attribute. "
    "Command line: `python -m dcgan.attributes CHECKPOINT --expr '...'`."
)
if score.classifier_accuracy:
    acc = ", ".join(f"{k} {v:.0%}" for k, v in score.classifier_accuracy.items())
    st.caption(f"The classifier's accuracy on fresh shapes it never trained on: {acc}.")

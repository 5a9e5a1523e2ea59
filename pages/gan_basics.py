"""GAN basics: the chapter's predecessor, a linear G learning a 2-D Gaussian against a small
MLP D, trained live in seconds, with D's decision surface drawn behind the points."""

import numpy as np
import streamlit as st

from dcgan import gan2d, plots
from dcgan.config import ConfigError
from ui import nav

nav.page_setup()

st.title("GAN basics")
GAN_URL = "https://d2l.ai/chapter_generative-adversarial-networks/gan.html"
st.markdown(
    f"Before images, the d2l chapter's predecessor, [Generative Adversarial Networks]({GAN_URL}), "
    "trains a GAN on points. The real data are a tilted 2-D Gaussian; G is a single linear "
    "layer, so it can only stretch, rotate and shift its own Gaussian noise; D is a tiny MLP "
    "(2 → 5 → 3 → 1, tanh). The heatmap is D's belief that a point is real: blue is 'real', "
    "red is 'fake'. Press Train and watch G's orange cloud move onto the real points while D's "
    "surface flattens towards 0.5, where it can no longer tell them apart."
)

c = st.columns(5)
epochs = c[0].slider("Epochs", 1, 60, 20, key="gb_epochs")
lr_D = c[1].select_slider("D's learning rate", (0.005, 0.01, 0.02, 0.05, 0.1), 0.05, key="gb_lrd")
lr_G = c[2].select_slider(
    "G's learning rate", (0.001, 0.002, 0.005, 0.01, 0.05), 0.005, key="gb_lrg"
)
seed = c[3].number_input("Seed", 0, 10_000, 0, key="gb_seed")
c[4].write("")
go = c[4].button("Train", type="primary", width="stretch")

try:
    cfg = gan2d.Gan2DConfig(epochs=epochs, lr_D=lr_D, lr_G=lr_G, seed=int(seed)).validate()
except ConfigError as e:
    st.error(str(e))
    st.stop()

key = (epochs, lr_D, lr_G, int(seed))
left, right = st.columns([3, 2])
chart = left.empty()
loss_chart = right.empty()
stats = right.empty()

if go:
    frames = []

    def on_frame(frame):
        """Redraw after each epoch: this runs in the script thread, so drawing is allowed."""
        frames.append(frame)
        chart.plotly_chart(plots.gan2d_figure(frame), key=f"gb_live_{frame.epoch}")

    gan2d.train(cfg, on_frame=on_frame)
    st.session_state["gb_frames"] = (key, frames)


def moments_table(real: np.ndarray, frame: gan2d.Frame) -> str:
    """Markdown: the real data's and G's mean and covariance, and the range of D's belief."""
    mu_r, cov_r = gan2d.moments(real)
    mu_g, cov_g = gan2d.moments(frame.fake)
    fmt = lambda a: ", ".join(f"{v:.2f}" for v in np.ravel(a))
    return f"""
| | real | generated (epoch {frame.epoch}) |
|---|---|---|
| mean | {fmt(mu_r)} | {fmt(mu_g)} |
| covariance | {fmt(cov_r)} | {fmt(cov_g)} |
| D's P(real) over the plane | | {frame.surface.min():.2f} to {frame.surface.max():.2f} |
"""


def starting_state(frame: gan2d.Frame) -> str:
    """Markdown: what the untrained networks already show, read off the epoch-0 frame."""
    centre = frame.fake.mean(axis=0)
    spread = float(np.linalg.norm(frame.fake - centre, axis=1).max())
    return (
        "**Before training.** The blue points are the real data: the chapter's tilted "
        f"Gaussian. G's {len(frame.fake)} orange crosses all lie within {spread:.2f} of "
        f"({centre[0]:.2f}, {centre[1]:.2f}): its weights start at N(0, 0.02), so it maps every "
        "noise vector to nearly the same point. D's surface is "
        f"{frame.surface.min():.2f} to {frame.surface.max():.2f} everywhere: it has learned "
        "nothing yet and calls every point a coin flip. Press Train to watch D learn where the "
        "real points are, and G follow D's gradient there."
    )


saved = st.session_state.get("gb_frames")
if saved is None:
    # the starting state, drawn at once: the untrained networks already teach something
    frame = gan2d.Gan2D(cfg).frame()
    chart.plotly_chart(plots.gan2d_figure(frame), key="gb_fig")
    stats.markdown(starting_state(frame) + "\n" + moments_table(frame.real, frame))
else:
    skey, frames = saved
    if skey != key:
        st.caption("Settings changed since this run; press Train to run them.")
    shown = st.slider("Epoch to show", 0, len(frames) - 1, len(frames) - 1, key="gb_show")
    frame = frames[shown]
    chart.plotly_chart(plots.gan2d_figure(frame), key="gb_fig")
    loss_chart.plotly_chart(plots.gan2d_loss_figure(frames), key="gb_loss")
    stats.markdown(
        (starting_state(frame) + "\n" if frame.epoch == 0 else "")
        + moments_table(frames[0].real, frame)
    )

"""GAN basics: the chapter's predecessor, a linear G learning a 2-D Gaussian against a small
MLP D, trained live in seconds, with D's decision surface drawn behind the points."""

from pathlib import Path

import numpy as np
import streamlit as st

from dcgan import coverage, gan2d, i18n, mode_plots, plots, runs
from dcgan.config import ConfigError
from dcgan.data import SHAPE_KINDS
from dcgan.i18n import _, number
from ui import links, nav
from ui.jobs import current_job

nav.page_setup()

st.title(_("GAN basics"))
GAN_URL = "https://d2l.ai/chapter_generative-adversarial-networks/gan.html"
st.markdown(
    _(
        "Before images, the d2l chapter's predecessor, [Generative Adversarial Networks]({url}), "
        "trains a GAN on points. The real data are a tilted 2-D Gaussian; G is a single linear "
        "layer, so it can only stretch, rotate and shift its own Gaussian noise; D is a tiny MLP "
        "(2 → 5 → 3 → 1, tanh). The heatmap is D's belief that a point is real: blue is 'real', "
        "red is 'fake'. Press Train and watch G's orange cloud move onto the real points while "
        "D's surface flattens towards 0.5, where it can no longer tell them apart."
    ).format(url=GAN_URL)
)


def data_from_link() -> None:
    """A link names the real data by the label the radio shows, in its sender's language: a
    label of any language is taken here as its dataset on the page's first run, and written
    back into the address in this language on the next (Streamlit puts a value set in code
    there only from a widget's second run on). A label that is no dataset's is left for
    links.note."""
    given, held = st.query_params.get("gb_data"), st.session_state.get("gb_data")
    if held is not None:
        if held != "gaussian" and given is None:
            st.session_state["gb_data"] = held
        return
    codes = {
        i18n.translations(lang).gettext(label): code
        for lang in i18n.LANGUAGES
        for code, label in gan2d.DATASETS.items()
    }
    if given in codes and given != _(gan2d.DATASETS[codes[given]]):
        st.session_state["gb_data"] = codes[given]
        st.session_state.get(links.RAW, {}).pop("gb_data", None)  # honoured: nothing to note


data_from_link()
data = st.radio(
    _("Real data"), list(gan2d.DATASETS), format_func=lambda v: _(gan2d.DATASETS[v]),
    horizontal=True,
    key="gb_data", bind="query-params",
)  # fmt: skip
mixture = data != "gaussian"
MIX_LRS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3)
# the Epochs and learning-rate sliders of each kind of data (a mixture or not), each kind with
# its own keys: the mixture's two MLPs learn at other rates than the Gaussian's linear G
SLIDERS = {
    False: {
        "epochs": dict(value=20, key="gb_epochs"),
        "lr_D": dict(options=(0.005, 0.01, 0.02, 0.05, 0.1), value=0.05, key="gb_lrd"),
        "lr_G": dict(options=(0.001, 0.002, 0.005, 0.01, 0.05), value=0.005, key="gb_lrg"),
    },
    True: {
        "epochs": dict(value=30, key="gb_mepochs"),
        "lr_D": dict(options=MIX_LRS, value=1e-3, key="gb_mlrd"),
        "lr_G": dict(options=MIX_LRS, value=1e-3, key="gb_mlrg"),
    },
}


def set_lrs(lr_D: float, lr_G: float) -> None:
    """A setting button's callback: it runs before the sliders are drawn, so they follow."""
    st.session_state.update(gb_mlrd=lr_D, gb_mlrg=lr_G)


if mixture:
    st.markdown(
        _(
            "**Mode collapse**, as GAN Lab teaches it. Now the real data are several narrow "
            "Gaussians, so G and D are small MLPs (two hidden layers of 64, ReLU): a linear G "
            "could never split its noise between modes. A green circle is a mode G covers, a "
            "grey one a mode it misses. Under the **healthy** setting D and G learn at the same "
            "rate and G spreads over every mode. Under the **collapse** setting D learns ten "
            "times slower: it cannot punish G for crowding one mode before G moves on, so G piles "
            "all its samples onto one or two modes and hops between them. KL(real ‖ G) grows "
            "when G misses real mass; JS reaches ln 2 ≈ 0.69 when the two share nothing."
        )
    )
    b = st.columns([1, 1, 4])
    b[0].button(_("Healthy setting"), on_click=set_lrs, args=(1e-3, 1e-3), width="stretch")
    b[1].button(_("Collapse setting"), on_click=set_lrs, args=(1e-4, 1e-3), width="stretch")
c = st.columns(5)
sliders = SLIDERS[mixture]
epochs = c[0].slider(_("Epochs"), 1, 60, **sliders["epochs"], bind="query-params")
lr_D = c[1].select_slider(_("D's learning rate"), **sliders["lr_D"], bind="query-params")
lr_G = c[2].select_slider(_("G's learning rate"), **sliders["lr_G"], bind="query-params")
seed = c[3].number_input(_("Seed"), 0, 10_000, 0, key="gb_seed", bind="query-params")
c[4].write("")
go = c[4].button(_("Train"), type="primary", width="stretch")
links.share("gb_data gb_mepochs gb_mlrd gb_mlrg gb_epochs gb_lrd gb_lrg gb_seed".split())

try:
    settings = dict(epochs=epochs, lr_D=lr_D, lr_G=lr_G, seed=int(seed))
    if mixture:
        cfg = gan2d.mixture_config(data, **settings).validate()
    else:
        cfg = gan2d.Gan2DConfig(**settings).validate()
except ConfigError as e:
    st.error(str(e))
    st.stop()

key = (data, epochs, lr_D, lr_G, int(seed))


def scene(frame: gan2d.Frame):
    """The points over D's surface; for a mixture, each mode circled by whether G covers it."""
    fig = plots.gan2d_figure(frame)
    return mode_plots.mark_modes(fig, cfg, frame) if mixture else fig


left, right = st.columns([3, 2])
chart = left.empty()
loss_chart = right.empty()
stats = right.empty()

if go:
    frames = []

    def on_frame(frame):
        """Redraw after each epoch: this runs in the script thread, so drawing is allowed."""
        frames.append(frame)
        chart.plotly_chart(scene(frame), key=f"gb_live_{frame.epoch}")

    gan2d.train(cfg, on_frame=on_frame)
    # what does not change with the epoch shown is made once per run and kept with its frames:
    # each move of the epoch slider reruns the page and then only draws that epoch's scene
    floor = gan2d.divergence_floor(cfg) if mixture else None
    k = len(frames[0].mode_counts)
    div_fig = mode_plots.divergence_figure(frames, k, floor) if mixture else None
    st.session_state["gb_frames"] = (key, frames, floor, (plots.gan2d_loss_figure(frames), div_fig))


def table(*rows) -> str:
    """A markdown table, its first row the header (translated cells can't sit in an f-string:
    gettext's extractor does not read inside one)."""
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|---" * len(rows[0]) + "|")
    return "\n" + "\n".join(lines) + "\n"


def moments_table(real: np.ndarray, frame: gan2d.Frame) -> str:
    """Markdown: the real data's and G's mean and covariance, and the range of D's belief."""
    mu_r, cov_r = gan2d.moments(real)
    mu_g, cov_g = gan2d.moments(frame.fake)
    fmt = lambda a: ", ".join(f"{v:.2f}" for v in np.ravel(a))  # a vector, as maths writes it
    lo, hi = number(frame.surface.min(), 2), number(frame.surface.max(), 2)
    return table(
        ("", _("real"), _("generated (epoch {epoch})").format(epoch=frame.epoch)),
        (_("mean"), fmt(mu_r), fmt(mu_g)),
        (_("covariance"), fmt(cov_r), fmt(cov_g)),
        (_("D's P(real) over the plane"), "", _("{low} to {high}").format(low=lo, high=hi)),
    )


def starting_state(frame: gan2d.Frame) -> str:
    """Markdown: what the untrained networks already show, read off the epoch-0 frame."""
    centre = frame.fake.mean(axis=0)
    spread = float(np.linalg.norm(frame.fake - centre, axis=1).max())
    return _(
        "**Before training.** The blue points are the real data: the chapter's tilted "
        "Gaussian. G's {n} orange crosses all lie within {spread} of {centre}: its weights "
        "start at N(0, 0.02), so it maps every noise vector to nearly the same point. D's "
        "surface is {low} to {high} everywhere: it has learned nothing yet and calls every "
        "point a coin flip. Press Train to watch D learn where the real points are, and G "
        "follow D's gradient there."
    ).format(
        n=number(len(frame.fake)),
        spread=number(spread, 2),
        centre=f"({centre[0]:.2f}, {centre[1]:.2f})",  # a point, as maths writes it
        low=number(frame.surface.min(), 2),
        high=number(frame.surface.max(), 2),
    )


def coverage_table(frame: gan2d.Frame, floor: tuple[float, float]) -> str:
    """Markdown: modes covered, KL and JS at this frame, beside what a perfect G scores."""
    k = len(frame.mode_counts)
    of = _("{covered} of {k}")
    note = _(
        "KL and JS are binned on a {bins} × {bins} grid from {n} samples of G; a perfect G's "
        "are not 0, since a finite sample never matches the density exactly."
    ).format(bins=cfg.bins, n=number(cfg.n_eval))
    return (
        table(
            (_("epoch {epoch}").format(epoch=frame.epoch), "G", _("a perfect G")),
            (
                _("modes covered"),
                "**" + of.format(covered=frame.covered, k=k) + "**",
                of.format(covered=k, k=k),
            ),
            (_("KL(real ‖ G)"), number(frame.kl, 2), number(floor[0], 2)),
            (_("JS(real, G)"), number(frame.js, 3), number(floor[1], 3)),
        )
        + "\n"
        + note
        + "\n"
    )


def mixture_start(frame: gan2d.Frame) -> str:
    """Markdown: the untrained MLP's cloud against the modes."""
    return _(
        "**Before training.** The blue points are the real data, {k} narrow Gaussians. G is an "
        "untrained MLP: its orange crosses form one smooth blob that covers {covered} modes. "
        "Press Train, then try the collapse setting with the same seed."
    ).format(k=len(frame.mode_counts), covered=frame.covered)


@st.cache_resource(max_entries=64, show_spinner=False)
def starting_view(settings: tuple, lang: str, _cfg) -> tuple[gan2d.Frame, object, tuple | None]:
    """The untrained networks' frame, its chart and the mixture's divergence floor: made once
    per setting and language for every session, since a class moving these sliders asks for
    the same few (the chart's title is in the reader's language)."""
    frame = gan2d.Gan2D(_cfg).frame()
    return frame, scene(frame), gan2d.divergence_floor(_cfg) if mixture else None


saved = st.session_state.get("gb_frames")
if saved is None or saved[0][0] != data:
    # the starting state, drawn at once: the untrained networks already teach something
    frame, fig, floor = starting_view(key, i18n.current(), cfg)
    chart.plotly_chart(fig, key="gb_fig")
    if mixture:
        stats.markdown(mixture_start(frame) + "\n" + coverage_table(frame, floor))
    else:
        stats.markdown(starting_state(frame) + "\n" + moments_table(frame.real, frame))
else:
    skey, frames, floor, (loss_fig, div_fig) = saved
    if skey != key:
        st.caption(_("Settings changed since this run; press Train to run them."))
    shown = st.slider(_("Epoch to show"), 0, len(frames) - 1, len(frames) - 1, key="gb_show")
    frame = frames[shown]
    chart.plotly_chart(scene(frame), key="gb_fig")
    loss_chart.plotly_chart(loss_fig, key="gb_loss")
    if mixture:
        stats.markdown(coverage_table(frame, floor))
        d = st.columns(2)
        d[0].plotly_chart(div_fig, key="gb_div")
        d[1].plotly_chart(mode_plots.mode_count_figure(cfg, frame), key="gb_modes")
    else:
        stats.markdown(
            (starting_state(frame) + "\n" if frame.epoch == 0 else "")
            + moments_table(frames[0].real, frame)
        )


@st.cache_data(show_spinner=False, max_entries=4)
def class_rows(run_dir: str, newest: int) -> list:
    """(step, ClassCoverage) over a shapes run's timeline, at most ~40 grids; cached per run and
    newest grid, so each new grid costs one read for every viewer."""
    n = len(runs.timeline(Path(run_dir)))
    return coverage.over_run(run_dir, every=max(1, n // 40))


st.divider()
st.subheader(_("Mode collapse in the DCGAN"))
st.markdown(
    _(
        "The built-in shapes come in 3 shapes × 4 colours = 12 classes, in equal numbers. A "
        "collapsed DCGAN draws a few of them over and over. The attribute classifier (the one "
        "behind *Checkable arithmetic*) reads each image of the training job's fixed-noise "
        "grids, so you can watch how many classes G draws as it trains. A class counts as "
        "covered once it holds a fifth of its fair share (at least one image); blurry blobs the "
        "classifier cannot read are counted apart."
    )
)
job = current_job()
frames_kept = runs.timeline(job.dir) if job is not None else []
if not frames_kept:
    st.info(_("No training run with sample grids yet: train on the built-in shapes (Train page)."))
else:
    try:
        # the spinner cached functions show is English: this one is drawn here instead
        with st.spinner(_("Reading the run's grids with the attribute classifier…")):
            rows = class_rows(str(job.dir), frames_kept[-1][0])
    except coverage.CoverageError as e:
        st.info(str(e))
    else:
        if rows:
            step, last = rows[-1]
            k = st.columns([3, 2])
            k[0].plotly_chart(
                mode_plots.class_coverage_figure(rows, coverage.N_CLASSES), key="gb_classes"
            )
            k[1].plotly_chart(
                mode_plots.class_counts_figure(last, SHAPE_KINDS, coverage.COLOURS, step),
                key="gb_class_counts",
            )
            missing = i18n.listing(last.missing()) or _("none")
            st.caption(
                _(
                    "Run {run}, step {step}: {covered} of {total} classes covered in {n} "
                    "samples; missing: {missing}."
                ).format(
                    run=job.dir.name,
                    step=number(step),
                    covered=last.covered,
                    total=coverage.N_CLASSES,
                    n=number(last.n),
                    missing=missing,
                )
            )

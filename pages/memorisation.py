"""Is it memorising? Nearest training images of generated samples, and the distance
distributions of generated and held-out images (dcgan.memorisation does the work)."""

import streamlit as st

from dcgan import memorisation as mem
from dcgan import neighbours
from dcgan.config import ConfigError
from dcgan.data import SOURCES, DataError, source_label
from dcgan.i18n import N_, _, ngettext, number, percent
from dcgan.images import upscale
from dcgan.lab_plots import nn_distance_figure
from ui import lab
from ui.nav import page_setup

# the two spaces' names (dcgan.memorisation's keys), as the headings show them
SPACE_LABELS = {mem.PIXEL: N_("pixel"), mem.FEATURES: N_("D features")}


page_setup()

st.title(_("Is it memorising?"))
st.markdown(
    _(
        "A generator could cheat by storing its training images and replaying them. Here, each "
        "generated sample is compared with every training image, both pixel by pixel and through "
        "the discriminator's eyes (its last layer before the verdict).\n\n"
        "**What to look for:** in the histograms, the coloured bars (generated → nearest training "
        "image) against the grey ones (real images the generator never saw → nearest training "
        "image). A memorising generator piles its bars up at the left, at distance near 0, left of "
        "the dashed line. A healthy one sits on top of the grey bars or to their right. In the "
        "gallery, look for a training image that is the sample itself."
    )
)

gen, path = lab.pick_generator("mem_gen")
spec = lab.data_spec(path)

sources = list(SOURCES)
if spec.source and spec.source not in sources:
    sources.insert(0, spec.source)
default = spec.source if spec.source in sources else "shapes"
c = st.columns(4)
source = c[0].selectbox(
    _("Training images"),
    sources,
    index=sources.index(default),
    format_func=source_label,
    key="mem_source",
    help=_("The dataset the generator trained on (read from its file when it says)."),
)
n_gen = c[1].select_slider(
    _("Generated samples"), [64, 128, 256, 512, 1024], 256, format_func=number, key="mem_n"
)
max_train = c[2].select_slider(
    _("Training images searched"),
    [1000, 2000, 5000, 10000, 20000, "all"],
    5000,
    format_func=lambda v: _("all") if v == "all" else number(v),
    key="mem_max",
    help=_("A random subset keeps the check to seconds; 'all' searches every image."),
)
flips = c[3].checkbox(
    _("Mirrored copies count"),
    value=spec.flip,
    key="mem_flips",
    help=_("On when the run trained with flips: a mirrored training image is a copy too."),
)
settings = (str(path), gen.label, source, n_gen, max_train, flips)

if st.button(_("Run the check"), type="primary", key="mem_run"):
    try:
        with st.spinner(_("Loading the training images and searching them...")):
            train, held, _info = lab.training_data(source, gen.cfg.image_size, spec, repr(spec))
            if max_train != "all" and max_train < len(train):
                import torch

                pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
                train = train[pick[:max_train]]
            D, note = lab.discriminator(path, gen.cfg)
            report = mem.check(
                gen.G,
                gen.cfg.nz,
                train,
                held if source == spec.source else None,
                D=D,
                feature_note=note,
                n_generated=n_gen,
                n_heldout=min(512, n_gen),
                k=5,
                n_examples=4,
                flips=flips,
            )
        dupes = neighbours.duplicate_fraction(report.train)
        st.session_state["mem_report"] = (settings, report, dupes)
    except (DataError, ConfigError, ValueError) as e:
        st.error(_("Could not run the check: {error}").format(error=e))

saved = st.session_state.get("mem_report")
if saved is None or saved[0] != settings:
    st.caption(_("Press **Run the check**: a few seconds for the shapes, longer for big sets."))
    st.stop()
report: mem.MemorisationReport = saved[1]
dupes: float = saved[2]

if report.flagged:
    st.error(
        _(
            "Flagged: many generated samples are closer to a training image than almost any "
            "unseen real image is. Look at the gallery below for copies."
        )
    )
else:
    st.success(
        _(
            "Not flagged: generated samples are no closer to the training images than unseen "
            "real images are."
        )
    )
searched = ngettext(
    "{n} training image searched", "{n} training images searched", len(report.train)
).format(n=number(len(report.train)))
made = ngettext("{n} generated sample", "{n} generated samples", report.n_generated).format(
    n=number(report.n_generated)
)
st.caption(
    f"{searched}, {made}, {number(report.seconds, 1)} s. {report.heldout_note}"
    + (
        " "
        + _(
            "{share} of the training images searched have an exact duplicate among them: "
            "held-out images with a twin sit at distance 0, so the flag compares against the "
            "held-out rate."
        ).format(share=percent(dupes))
        if dupes > 0
        else ""
    )
)

spaces = [r for r in (report.pixel, report.features) if r is not None]
cols = st.columns(len(spaces))
for col, r in zip(cols, spaces, strict=True):
    m = col.columns(2)
    m[0].metric(
        _("Within held-out's 5th pct"),
        percent(r.frac_close),
        delta=_("{diff} vs held-out ({rate})").format(
            diff=percent(r.frac_close - r.heldout_close, signed=True), rate=percent(r.heldout_close)
        ),
        delta_color="inverse",
        help=_(
            "Generated samples at most as far from a training image as the closest 5 % of "
            "unseen real images. Held-out images land there 5 % of the time (more when the data "
            "holds duplicates); {excess} more than held-out is flagged."
        ).format(excess=percent(mem.FLAG_EXCESS)),
    )
    m[1].metric(
        _("Median distance ratio"),
        number(r.median_ratio, 2),
        help=_(
            "Median generated → train distance over median held-out → train distance; "
            "well below 1 hints at copies."
        ),
    )
    col.plotly_chart(nn_distance_figure(r), key=f"mem_hist_{r.space}")
if report.features is not None:
    st.caption(_("Feature space: {note}.").format(note=report.feature_note))

st.subheader(_("The nearest training images of a few samples"))
for space, nb in report.examples.items():
    st.markdown(
        _("**{space}**: the generated sample, then its {k} nearest").format(
            space=_(SPACE_LABELS[space]) if space in SPACE_LABELS else space, k=nb.index.shape[1]
        )
    )
    samples = lab.hwc(report.samples)
    for i, sample in enumerate(samples):
        row = st.columns(nb.index.shape[1] + 1)
        row[0].image(upscale(sample, 96), caption=_("generated"))
        neighbours = lab.hwc(report.train[nb.index[i]])
        for j, img in enumerate(neighbours):
            row[j + 1].image(upscale(img, 96), caption=f"d = {nb.distance[i, j]:.3g}")

st.info(_(mem.THEIS_CAVEAT))
st.caption(
    _(
        "Distances are RMS differences per value (pixels in [0, 1]). Command line: "
        "`python -m dcgan.memorisation CHECKPOINT --data SOURCE`."
    )
)

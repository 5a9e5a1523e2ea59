"""Inside the networks: the DCGAN paper's filter figures, one sample's feature maps layer by
layer, and the dead units of D (the chapter's exercise 1), on the picked generator."""

import math

import streamlit as st

from dcgan import inside
from dcgan.config import ConfigError
from dcgan.data import DataError, source_label
from dcgan.i18n import _, number
from dcgan.images import to_uint8, upscale
from dcgan.lab_plots import dead_units_by_layer_figure
from dcgan.latent import generate, sample_z
from ui import lab
from ui.nav import page_setup

page_setup()

st.title(_("Inside the networks"))
st.markdown(
    _(
        "The DCGAN paper opened its networks up: what do the first filters of D look for, and "
        "what do the last filters of G paint? Here are the same pictures for the model you "
        "pick.\n\n"
        "**What to look for:** a trained D's first filters turn into small colour blobs and edge "
        "detectors (light on one side, dark on the other); an untrained D's are random speckle. "
        "In G's feature maps, the 4×4 first layer holds a rough layout, and each layer after it "
        "doubles the size and adds detail, until the last one paints the picture."
    )
)

gen, path = lab.pick_generator("inside_gen")
D, d_note = lab.discriminator(path, gen.cfg)
st.caption(_("G: {g}. D: {d}.").format(g=gen.label, d=d_note))

st.subheader(_("Filters"))
c1, c2 = st.columns(2)
c1.markdown(_("**D's first layer**: {n} filters of 3×4×4").format(n=D[0][0].weight.shape[0]))
c1.image(inside.d_first_filters(D), width="stretch")
c1.caption(
    _(
        "Each tile is one filter's weights as colours: grey is 0, bright is positive, dark is "
        "negative. D's first units fire where an image patch looks like their tile."
    )
)
c2.markdown(_("**G's last layer**: {n} filters of 3×4×4").format(n=gen.cfg.ngf))
c2.image(inside.g_last_filters(gen.G), width="stretch")
c2.caption(
    _(
        "Each tile is the 4×4 colour stamp one of G's last feature maps paints onto the "
        "picture, scaled by how strongly that map is on at each place."
    )
)

st.subheader(_("One sample, layer by layer"))
c = st.columns([1, 1, 2])
seed = c[0].number_input(_("Sample seed"), 0, 100_000, 0, key="inside_seed")
n_ch = c[1].slider(_("Channels per layer"), 4, 32, 8, 4, key="inside_channels")
z = sample_z(1, gen.cfg.nz, seed)
image = generate(gen.G, z)
c[2].image(upscale(lab.hwc(to_uint8(image))[0], 128), caption=_("the sample"))
tab_g, tab_d = st.tabs([_("G: noise → picture"), _("D: picture → verdict")])
with tab_g:
    for m in inside.feature_maps(gen.G, z, max_channels=n_ch):
        st.markdown(f"**`{m.name}`** (`{m.op}`) → {'×'.join(map(str, m.shape))}")
        st.image(m.grid, width=min(640, 3 * m.grid.shape[1]))
    st.caption(
        _(
            "Each tile is one channel, scaled to its own range (the strongest channels first): "
            "bright where the unit is most on."
        )
    )
with tab_d:
    maps = inside.feature_maps(D, image, max_channels=n_ch)
    for m in maps[:-1]:
        st.markdown(f"**`{m.name}`** (`{m.op}`) → {'×'.join(map(str, m.shape))}")
        st.image(m.grid, width=min(640, 3 * m.grid.shape[1]))
    logit = maps[-1].value
    st.metric(
        _("D's verdict on this sample"),
        number(1 / (1 + math.exp(-logit)), 2),
        help=_("sigmoid of its logit {logit}: D's probability that the image is real").format(
            logit=number(logit, 2)
        ),
    )

st.subheader(_("Dead units in D"))
st.markdown(
    _(
        "A unit is dead on a batch when its activation's input is ≤ 0 for every image at every "
        "place: under ReLU it outputs 0 and gets no gradient, so it can stay dead for good; "
        "LeakyReLU still lets a little gradient through. This is the chapter's exercise 1: "
        "train once with D's activation set to ReLU on the Train page, then pick that run's "
        "checkpoint here and compare."
    )
)
spec = lab.data_spec(path)
source = spec.source or "shapes"
try:
    train, _held, _info = lab.training_data(source, gen.cfg.image_size, spec, repr(spec))
    batch, what = (
        train[:256],
        _("256 training images from {source}").format(source=source_label(source)),
    )
except (DataError, ConfigError, ValueError) as e:
    batch = to_uint8(generate(gen.G, sample_z(256, gen.cfg.nz, 1)))
    what = _("256 generated samples ({source} could not be loaded: {error})").format(
        source=source_label(source), error=e
    )
dead = inside.dead_unit_fractions(D, batch)
st.plotly_chart(dead_units_by_layer_figure(dead), key="inside_dead")
st.caption(
    _(
        "Measured on {what}, with BatchNorm using the batch's statistics as in training. "
        "D's activation: {activation}."
    ).format(what=what, activation=type(D[0][-1]).__name__)
)

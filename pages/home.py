"""Home: what a DCGAN is, both networks drawn from the real model, the device, where next."""

import pandas as pd
import streamlit as st

from dcgan import architecture, plots
from dcgan.i18n import _
from ui import device, jobs, nav

nav.page_setup()

st.title("DCGAN Playground")
st.markdown(
    _(
        """
A **deep convolutional GAN** (Radford et al., 2015) is two networks trained against each
other. The **generator** G turns a vector of random numbers *z* into an image, growing it
with transposed convolutions. The **discriminator** D shrinks an image with strided
convolutions down to one number: how likely the image is real. D learns to tell real from
generated; G learns to fool D. When neither can improve, G's images look like the data.

This playground follows the [d2l.ai DCGAN chapter](https://d2l.ai/chapter_generative-adversarial-networks/dcgan.html):
every page runs the chapter's code, and every number comes from the real model.
"""
    )
)

cfg, source = jobs.current_config()
m = cfg.model
st.subheader(_("The two networks, layer by layer"))
st.caption(
    _(
        "Shapes from a real forward pass of {source}: {size}×{size} images, "
        "nz={nz}, ngf={ngf}, ndf={ndf}. Boxes grow with the image side (height) and the "
        "channel count (width); orange boxes upsample, green boxes downsample."
    ).format(source=source, size=m.image_size, nz=m.nz, ngf=m.ngf, ndf=m.ndf)
)
g_rows, d_rows = architecture.tables(m)
st.plotly_chart(
    plots.architecture_figure(g_rows, _("Generator: noise z → image")), key="home_arch_G"
)
st.plotly_chart(
    plots.architecture_figure(d_rows, _("Discriminator: image → one logit")), key="home_arch_D"
)
with st.expander(_("The same as tables")):
    c1, c2 = st.columns(2)
    for col, name, rows in ((c1, _("Generator"), g_rows), (c2, _("Discriminator"), d_rows)):
        col.markdown(f"**{name}**")
        col.dataframe(
            pd.DataFrame(
                {
                    _("layer"): [r["layer"] for r in rows],
                    _("op"): [r["op"] for r in rows],
                    _("output (C×H×W)"): ["×".join(map(str, r["shape"][1:])) for r in rows],
                    _("parameters"): [r["params"] for r in rows],
                }
            ),
            hide_index=True,
        )

d = device.device_info()
st.subheader(_("Where it runs"))
c1, c2, c3 = st.columns(3)
c1.metric(_("Device"), d["device"])
c2.metric(_("Precision"), d["precision"])
c3.metric("PyTorch", d["torch"])
if d["device"] == "cpu":
    st.caption(
        _(
            "No GPU here, so training runs on the CPU. The classroom-cpu preset (32×32, narrow "
            "networks) is sized for that; on a GPU the same pages train the chapter's 64×64 model."
        )
    )

st.subheader(_("Where to go next"))
cols = st.columns(2)
for i, p in enumerate(p for p in nav.PAGES if p.teaser):
    label = _("{page}: {teaser}").format(page=_(p.title), teaser=_(p.teaser))
    cols[i % 2].page_link(p.path, label=label, icon=p.icon)

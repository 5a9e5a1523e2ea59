"""Home: what a DCGAN is, both networks drawn from the real model, the device, where next."""

import pandas as pd
import streamlit as st

from dcgan import architecture, plots
from ui import device, jobs, nav

nav.page_setup()

st.title("DCGAN Playground")
st.markdown(
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

cfg, source = jobs.current_config()
m = cfg.model
st.subheader("The two networks, layer by layer")
st.caption(
    f"Shapes from a real forward pass of {source}: {m.image_size}×{m.image_size} images, "
    f"nz={m.nz}, ngf={m.ngf}, ndf={m.ndf}. Boxes grow with the image side (height) and the "
    "channel count (width); orange boxes upsample, green boxes downsample."
)
g_rows, d_rows = architecture.tables(m)
st.plotly_chart(plots.architecture_figure(g_rows, "Generator: noise z → image"), key="home_arch_G")
st.plotly_chart(
    plots.architecture_figure(d_rows, "Discriminator: image → one logit"), key="home_arch_D"
)
with st.expander("The same as tables"):
    c1, c2 = st.columns(2)
    for col, name, rows in ((c1, "Generator", g_rows), (c2, "Discriminator", d_rows)):
        col.markdown(f"**{name}**")
        col.dataframe(
            pd.DataFrame(
                {
                    "layer": [r["layer"] for r in rows],
                    "op": [r["op"] for r in rows],
                    "output (C×H×W)": ["×".join(map(str, r["shape"][1:])) for r in rows],
                    "parameters": [r["params"] for r in rows],
                }
            ),
            hide_index=True,
        )

d = device.device_info()
st.subheader("Where it runs")
c1, c2, c3 = st.columns(3)
c1.metric("Device", d["device"])
c2.metric("Precision", d["precision"])
c3.metric("PyTorch", d["torch"])
if d["device"] == "cpu":
    st.caption(
        "No GPU here, so training runs on the CPU. The classroom-cpu preset (32×32, narrow "
        "networks) is sized for that; on a GPU the same pages train the chapter's 64×64 model."
    )

st.subheader("Where to go next")
cols = st.columns(2)
for i, p in enumerate(p for p in nav.PAGES if p.teaser):
    cols[i % 2].page_link(p.path, label=f"{p.title}: {p.teaser}", icon=p.icon)

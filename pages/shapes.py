"""Shapes: conv and transposed-conv calculators, a picture of the transposed scatter, and the
current G and D layer tables checked against a real forward pass."""

import pandas as pd
import streamlit as st

from dcgan import architecture, explain, plots
from dcgan.config import ConfigError
from ui import jobs, nav

nav.page_setup()

st.title("Shapes")
st.markdown(
    "The generator grows a 1×1 noise vector into an image with **transposed convolutions**; "
    "the discriminator shrinks it back with convolutions. Both follow simple arithmetic."
)


def inputs(prefix: str, transposed: bool) -> dict:
    """Number inputs for n, k, s, p (and output padding), d; defaults are the chapter's G_block."""
    c = st.columns(6 if transposed else 5)
    vals = {
        "n": c[0].number_input("n (input)", 1, 4096, 16, key=f"{prefix}_n"),
        "k": c[1].number_input("k (kernel)", 1, 64, 4, key=f"{prefix}_k"),
        "s": c[2].number_input("s (stride)", 1, 16, 2, key=f"{prefix}_s"),
        "p": c[3].number_input("p (padding)", 0, 64, 1, key=f"{prefix}_p"),
    }
    if transposed:
        vals["op"] = c[4].number_input("output padding", 0, 15, 0, key=f"{prefix}_op")
    vals["d"] = c[-1].number_input("d (dilation)", 1, 16, 1, key=f"{prefix}_d")
    return vals


def show(result: explain.ConvArithmetic) -> None:
    """The output size, the general formula with numbers in, and the chapter's short form."""
    st.metric("Output size", result.out)
    st.code(f"{result.formula}\n= {result.substituted}", language=None)
    if result.alt_formula:
        st.code(f"{result.alt_formula}\n= {result.alt_substituted}", language=None)


def calculator(title: str, prefix: str, transposed: bool) -> None:
    """One calculator: its inputs, then the result, or the reason those sizes cannot work."""
    st.subheader(title)
    v = inputs(prefix, transposed=transposed)
    try:
        show((explain.conv_transpose_out if transposed else explain.conv_out)(**v))
    except explain.ShapeError as e:
        st.error(str(e))


c1, c2 = st.columns(2)
with c1:
    calculator("Transposed convolution (G)", "tc", transposed=True)
with c2:
    calculator("Convolution (D)", "cv", transposed=False)

st.subheader("How a transposed convolution scatters its input")
st.markdown(
    "Each input pixel stamps a k×k copy of the kernel into the output, s pixels after the "
    "previous one. Where stamps overlap their contributions add up (darker); with s > k gaps "
    "appear. Padding p then crops p pixels from every border (the red box)."
)
c = st.columns(4)
sn = c[0].slider("input n", 1, 8, 3, key="sc_n")
sk = c[1].slider("kernel k", 1, 6, 4, key="sc_k")
s_s = c[2].slider("stride s", 1, 5, 2, key="sc_s")
sp = c[3].slider("padding p", 0, 3, 1, key="sc_p")
left, right = st.columns([3, 2])
try:
    sc = explain.transposed_scatter(sn, sk, s_s, sp)
    left.plotly_chart(plots.scatter_figure(sn, sk, s_s, sp), key="sc_fig")
except explain.ShapeError as e:
    st.error(str(e))
else:
    right.markdown("**Along one axis**")
    right.code(
        f"kernel starts  {list(sc.starts)}  (i·s)\n"
        f"writes/pixel   {sc.coverage.tolist()}\n"
        f"before crop    {sc.full_size} = ({sn}-1)·{s_s} + {sk}\n"
        f"after crop     {sc.out_size} = {sc.full_size} - 2·{sp}",
        language=None,
    )
    gaps = int((sc.coverage == 0).sum())
    overlaps = int((sc.coverage > 1).sum())
    right.markdown(
        f"{overlaps} of {sc.full_size} positions receive more than one kernel tap"
        + (f" and {gaps} receive none: stride {s_s} > kernel {sk} leaves gaps." if gaps else ".")
        + " Uneven overlap is where DCGAN's checkerboard artefacts come from "
        "(Odena et al., 2016); k divisible by s, as in the chapter's k=4, s=2, keeps it even "
        "in the middle."
    )

st.subheader("The current model, layer by layer")
cfg, source = jobs.current_config()
st.caption(
    f"Output shapes from a real forward pass of the model in {source}; the formula column "
    "predicts each size from the layer's k, s and p, and the check column compares the two."
)
c = st.columns(4)
m = cfg.model
size = c[0].selectbox("Image size", (32, 64, 128), index=(32, 64, 128).index(m.image_size))
nz = c[1].number_input("nz", 1, 1024, m.nz)
ngf = c[2].number_input("ngf", 1, 512, m.ngf)
ndf = c[3].number_input("ndf", 1, 512, m.ndf)
try:
    g_rows, d_rows = architecture.tables(
        cfg.replace(
            **{"model.image_size": size, "model.nz": nz, "model.ngf": ngf, "model.ndf": ndf}
        ).model
    )
except ConfigError as e:
    st.error(str(e))
    st.stop()


def frame(rows) -> pd.DataFrame:
    """A layer table for display."""
    return pd.DataFrame(
        {
            "layer": [r["layer"] for r in rows],
            "op": [r["op"] for r in rows],
            "output (N, C, H, W)": [str(r["shape"]) for r in rows],
            "formula": [r["formula"] for r in rows],
            "check": ["✓" if r["agrees"] else "✗" for r in rows],
            "parameters": [r["params"] for r in rows],
        }
    )


st.markdown("**Generator**")
st.dataframe(frame(g_rows), hide_index=True)
st.markdown("**Discriminator**")
st.dataframe(frame(d_rows), hide_index=True)
total_g = sum(r["params"] for r in g_rows)
total_d = sum(r["params"] for r in d_rows)
st.caption(f"Parameters: G {total_g:,}, D {total_d:,}.")

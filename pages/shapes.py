"""Shapes: conv and transposed-conv calculators, a picture of the transposed scatter, and the
current G and D layer tables checked against a real forward pass."""

import unicodedata

import pandas as pd
import streamlit as st

from dcgan import architecture, explain, plots
from dcgan.config import ConfigError
from dcgan.i18n import _, number
from ui import jobs, nav

nav.page_setup()

st.title(_("Shapes"))
st.markdown(
    _(
        "The generator grows a 1×1 noise vector into an image with **transposed "
        "convolutions**; the discriminator shrinks it back with convolutions. Both follow "
        "simple arithmetic."
    )
)


def inputs(prefix: str, transposed: bool) -> dict:
    """Number inputs for n, k, s, p (and output padding), d; defaults are the chapter's G_block."""
    c = st.columns(6 if transposed else 5)
    vals = {
        "n": c[0].number_input(_("n (input)"), 1, 4096, 16, key=f"{prefix}_n"),
        "k": c[1].number_input(_("k (kernel)"), 1, 64, 4, key=f"{prefix}_k"),
        "s": c[2].number_input(_("s (stride)"), 1, 16, 2, key=f"{prefix}_s"),
        "p": c[3].number_input(_("p (padding)"), 0, 64, 1, key=f"{prefix}_p"),
    }
    if transposed:
        vals["op"] = c[4].number_input(_("output padding"), 0, 15, 0, key=f"{prefix}_op")
    vals["d"] = c[-1].number_input(_("d (dilation)"), 1, 16, 1, key=f"{prefix}_d")
    return vals


def width(text: str) -> int:
    """Columns a monospace font gives `text`: a Han character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def aligned(rows) -> str:
    """(label, value) lines with the values in one column, whatever the labels' language."""
    w = max(width(label) for label, _v in rows) + 2
    return "\n".join(label + " " * (w - width(label)) + value for label, value in rows)


def show(result: explain.ConvArithmetic) -> None:
    """The output size, the general formula with numbers in, and the chapter's short form."""
    st.metric(_("Output size"), number(result.out))
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
    calculator(_("Transposed convolution (G)"), "tc", transposed=True)
with c2:
    calculator(_("Convolution (D)"), "cv", transposed=False)

st.subheader(_("How a transposed convolution scatters its input"))
st.markdown(
    _(
        "Each input pixel stamps a k×k copy of the kernel into the output, s pixels after the "
        "previous one. Where stamps overlap their contributions add up (darker); with s > k "
        "gaps appear. Padding p then crops p pixels from every border (the red box)."
    )
)
c = st.columns(4)
sn = c[0].slider(_("input n"), 1, 8, 3, key="sc_n")
sk = c[1].slider(_("kernel k"), 1, 6, 4, key="sc_k")
s_s = c[2].slider(_("stride s"), 1, 5, 2, key="sc_s")
sp = c[3].slider(_("padding p"), 0, 3, 1, key="sc_p")
left, right = st.columns([3, 2])
try:
    sc = explain.transposed_scatter(sn, sk, s_s, sp)
    left.plotly_chart(plots.scatter_figure(sn, sk, s_s, sp), key="sc_fig")
except explain.ShapeError as e:
    st.error(str(e))
else:
    right.markdown(_("**Along one axis**"))
    right.code(
        aligned(
            (
                (_("kernel starts"), f"{list(sc.starts)}  (i·s)"),
                (_("writes/pixel"), str(sc.coverage.tolist())),
                (_("before crop"), f"{sc.full_size} = ({sn}-1)·{s_s} + {sk}"),
                (_("after crop"), f"{sc.out_size} = {sc.full_size} - 2·{sp}"),
            )
        ),
        language=None,
    )
    gaps = int((sc.coverage == 0).sum())
    overlaps = int((sc.coverage > 1).sum())
    counts = dict(overlaps=overlaps, total=sc.full_size, gaps=gaps, s=s_s, k=sk)
    right.markdown(
        (
            _(
                "{overlaps} of {total} positions receive more than one kernel tap and {gaps} "
                "receive none: stride {s} > kernel {k} leaves gaps."
            )
            if gaps
            else _("{overlaps} of {total} positions receive more than one kernel tap.")
        ).format(**counts)
        + " "
        + _(
            "Uneven overlap is where DCGAN's checkerboard artefacts come from (Odena et al., "
            "2016); k divisible by s, as in the chapter's k=4, s=2, keeps it even in the middle."
        )
    )

st.subheader(_("The current model, layer by layer"))
cfg, source = jobs.current_config()
st.caption(
    _(
        "Output shapes from a real forward pass of the model in {source}; the formula column "
        "predicts each size from the layer's k, s and p, and the check column compares the two."
    ).format(source=source)
)
c = st.columns(4)
m = cfg.model
size = c[0].selectbox(
    _("Image size"), (32, 64, 128), index=(32, 64, 128).index(m.image_size), key="sh_size"
)
nz = c[1].number_input("nz", 1, 1024, m.nz, key="sh_nz")
ngf = c[2].number_input("ngf", 1, 512, m.ngf, key="sh_ngf")
ndf = c[3].number_input("ndf", 1, 512, m.ndf, key="sh_ndf")
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
            _("layer"): [r["layer"] for r in rows],
            _("op"): [r["op"] for r in rows],
            _("output (N, C, H, W)"): [str(r["shape"]) for r in rows],
            _("formula"): [r["formula"] for r in rows],
            _("check"): ["✓" if r["agrees"] else "✗" for r in rows],
            _("parameters"): [r["params"] for r in rows],
        }
    )


st.markdown(_("**Generator**"))
st.dataframe(frame(g_rows), hide_index=True)
st.markdown(_("**Discriminator**"))
st.dataframe(frame(d_rows), hide_index=True)
total_g = sum(r["params"] for r in g_rows)
total_d = sum(r["params"] for r in d_rows)
st.caption(_("Parameters: G {g}, D {d}.").format(g=number(total_g), d=number(total_d)))

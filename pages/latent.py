"""Latent space: interpolation (lerp vs slerp), the DCGAN paper's vector arithmetic, and a
random walk, all from one generator (shipped, the live job's, or a saved checkpoint).

Only the open tab runs (its label is in the URL, so a link opens the same tab), and a move
of one of its widgets reruns that tab alone. A tab's label is in the session's language, and
so is the link's value: a link that names the tab in any language opens it. The pictures come
from dcgan.explore, which makes each once per generator and input for every session: a class
on the same seeds costs one forward pass.
"""

import streamlit as st

from dcgan import explore, i18n
from dcgan.i18n import N_, _, ngettext, number
from ui import generators, links, nav

TABS = (N_("Interpolation"), N_("Vector arithmetic"), N_("Random walk"))
PAGE_KEYS = ("latent_tab",)  # in the link beside the open tab's settings (and the generator)
PNG = {"output_format": "PNG"}  # the bytes as made: "auto" re-encodes an RGB PNG as JPEG

nav.page_setup()

st.title(_("Latent space"))
st.markdown(
    _(
        "G maps each noise vector z to an image. Nearby vectors give similar images, so walking "
        "through z-space morphs one image into another, and averages of vectors behave like "
        "averages of concepts."
    )
)

gen = generators.generator_picker()
if gen is None:
    st.stop()
G, nz = gen.G, gen.cfg.nz
st.caption(
    _("Using {generator}: {size}×{size} images, nz = {nz}.").format(
        generator=gen.label, size=gen.cfg.image_size, nz=nz
    )
)
if gen.note:
    st.info(gen.note)


@st.fragment
def interpolation(G, nz: int, size: int) -> None:
    """Two seeds, the lerp and slerp strips between them, and both images at t."""
    big = explore.enlarged(size, 220)
    c = st.columns(4)
    seed_a = c[0].number_input(_("Seed A"), 0, 100_000, 1, key="li_a", bind="query-params")
    seed_b = c[1].number_input(_("Seed B"), 0, 100_000, 2, key="li_b", bind="query-params")
    n_steps = c[2].slider(_("Images in the strip"), 3, 16, 9, key="li_n", bind="query-params")
    t = c[3].slider(
        _("t (position between A and B)"), 0.0, 1.0, 0.5, 0.01, key="li_t", bind="query-params"
    )
    links.share((*PAGE_KEYS, "li_a", "li_b", "li_n", "li_t"))
    strips = explore.strips(G, nz, seed_a, seed_b, n_steps)
    at_t = explore.at_t(G, nz, seed_a, seed_b, t)
    c1, c2, c3 = st.columns([1, 1, 2])
    for col, mode in ((c1, "lerp"), (c2, "slerp")):
        png, norm = at_t[mode]
        caption = _("{mode} at t = {t}, ‖z‖ = {norm}").format(
            mode=mode, t=number(t, 2), norm=number(norm, 2)
        )
        col.image(png, caption=caption, width=big, **PNG)
    c3.plotly_chart(explore.norm_chart(G, nz, seed_a, seed_b, n_steps, t), key="li_norm")
    st.markdown(_("**Linear (lerp)**: a straight line; its middle is shorter than typical z."))
    wide = explore.enlarged(explore.strip_width(n_steps, size), 1000)
    st.image(strips.png["lerp"], width=wide, **PNG)
    st.markdown(_("**Spherical (slerp)**: a great circle; ‖z‖ stays near √nz all the way."))
    st.image(strips.png["slerp"], width=wide, **PNG)
    st.caption(
        _(
            "High-dimensional Gaussian samples sit near a sphere of radius √nz, and G was "
            "trained only there. A straight line cuts inside that shell, so lerp's middle images "
            "can look washed out; slerp stays on it."
        )
    )


@st.fragment
def arithmetic(G, nz: int, size: int) -> None:
    """Numbered samples, groups A, B and C picked from them, and mean(A) − mean(B) + mean(C)."""
    st.markdown(
        _(
            "The DCGAN paper's trick: average a few samples that share a concept (one vector is "
            "noisy), then add and subtract the averages: **mean(A) − mean(B) + mean(C)**. Pick "
            "the samples for each group from the grid by their numbers."
        )
    )
    st.page_link(
        "pages/arithmetic.py",
        label=_("Score it: on the built-in shapes a classifier checks the arithmetic, as a number"),
        icon=":material/calculate:",
    )
    c = st.columns([1, 1, 2])
    pool_seed = c[0].number_input(_("Grid seed"), 0, 100_000, 0, key="va_seed", bind="query-params")
    pool_n = c[1].select_slider(
        _("Grid size"), (16, 24, 32, 48), value=24, key="va_n", bind="query-params"
    )
    with st.container(key="numbered"):  # shrunk to fit, smoothly: its numbers stay legible
        st.image(explore.pool(G, nz, pool_seed, pool_n).grid, caption=_("Samples by number"), **PNG)
    g = st.columns(3)
    groups = {}
    for col, name, default in zip(g, "ABC", ([0, 1, 2], [3, 4, 5], [6, 7, 8]), strict=True):
        opts = list(range(pool_n))
        groups[name] = col.multiselect(
            _("Group {name}").format(name=name),
            opts,
            default=default,
            key=f"va_{name}",
            bind="query-params",
        )
    k = st.columns(4)
    ca = k[0].slider(_("coefficient of A"), -2.0, 2.0, 1.0, 0.1, key="va_ca", bind="query-params")
    cb = k[1].slider(_("coefficient of B"), -2.0, 2.0, -1.0, 0.1, key="va_cb", bind="query-params")
    cc = k[2].slider(_("coefficient of C"), -2.0, 2.0, 1.0, 0.1, key="va_cc", bind="query-params")
    noise = k[3].slider(
        _("noise around the result"), 0.0, 1.0, 0.25, 0.05, key="va_noise", bind="query-params"
    )
    links.share((*PAGE_KEYS, *"va_seed va_n va_A va_B va_C va_ca va_cb va_cc va_noise".split()))
    if not all(groups.values()):
        st.warning(_("Each group needs at least one sample: pick numbers from the grid."))
        return
    groups = [groups[n] for n in "ABC"]
    out = explore.arithmetic(G, nz, pool_seed, pool_n, groups, (ca, cb, cc), noise)
    labels = (*(_("mean({group})").format(group=n) for n in "ABC"), f"{ca:g}·A {cb:+g}·B {cc:+g}·C")
    r = st.columns(5)
    for col, png, label in zip(r[:4], out.means, labels, strict=True):
        col.image(png, caption=label, width=explore.enlarged(size, 160), **PNG)
    around = explore.enlarged(explore.strip_width(3, size), 220)
    caption = _("9 results, noise {noise}").format(noise=number(noise))
    r[4].image(out.around, caption=caption, width=around, **PNG)


@st.fragment
def random_walk(G, nz: int, size: int) -> None:
    """Random walks through z-space, side by side: a still of each, or a looping GIF."""
    c = st.columns(4)
    seed = c[0].number_input(_("Seed"), 0, 100_000, 0, key="rw_seed", bind="query-params")
    frames = c[1].slider(_("Frames"), 16, 96, 48, 8, key="rw_frames", bind="query-params")
    walkers = c[2].slider(_("Walkers side by side"), 1, 6, 4, key="rw_n", bind="query-params")
    ms = c[3].slider(
        _("Milliseconds per frame"), 40, 400, 100, 20, key="rw_ms", bind="query-params"
    )
    # an animation decodes every frame and encodes a GIF: made when asked, once per setting
    play = st.toggle(
        _("Animate"), key="rw_play", bind="query-params", help=_("Play the walks as a looping GIF.")
    )
    links.share((*PAGE_KEYS, "rw_seed", "rw_frames", "rw_n", "rw_ms", "rw_play"))
    if not play:
        sheet = explore.walk_sheet(G, nz, seed, frames, walkers)
        st.image(
            sheet,
            caption=ngettext(
                "{walkers} random walk (one row), {shown} of its {frames} frames: turn on "
                "Animate to watch it move",
                "{walkers} random walks (a row each), {shown} of their {frames} frames: turn on "
                "Animate to watch them move",
                walkers,
            ).format(walkers=walkers, shown=explore.SHEET_COLUMNS, frames=frames),
            width=explore.enlarged(explore.strip_width(explore.SHEET_COLUMNS, size), 800),
            **PNG,
        )
        return
    gif = explore.walk_gif(G, nz, seed, frames, walkers, ms)
    caption = ngettext(
        "{walkers} random walk, {frames} frames (slerp between anchors)",
        "{walkers} random walks, {frames} frames (slerp between anchors)",
        walkers,
    ).format(walkers=walkers, frames=frames)
    st.image(gif, caption=caption, width=max(1, 160 // size) * explore.strip_width(walkers, size))
    st.download_button(
        _("Download the GIF"), gif, file_name="latent-walk.gif", mime="image/gif", on_click="ignore"
    )


def tab_labels() -> list[str]:
    """The tabs' labels in this session's language, with the open tab carried over to them.

    Streamlit's tabs have no value apart from their label, so the link's `latent_tab` is a
    label too. A shared link may name the tab in another language (a French class passing
    links to an English one), and a session that switches language holds the old label:
    either is mapped here to the same tab in this language, through the session state (a
    bound query parameter cannot be set). A name that is no tab's is left for links.note to
    report."""
    labels = [_(t) for t in TABS]
    spelled = {
        i18n.translations(lang).gettext(t): i for lang in i18n.LANGUAGES for i, t in enumerate(TABS)
    }
    key = PAGE_KEYS[0]
    url = st.query_params.get(key)
    held = st.session_state.get(key)  # None on the page's first run: the link decides
    given = url if held is None else held
    if given in spelled and given != labels[spelled[given]]:
        st.session_state[key] = labels[spelled[given]]
    elif held in labels[1:] and url is None:
        # a tab set above on the first run stays out of the address (Streamlit writes a
        # code-set value there from the widget's second run on): set it again, so the link
        # holds it. A link that names another tab is left to win, as Streamlit lets it.
        st.session_state[key] = held
    if url in spelled:  # the link's tab is open, in any language: nothing to note
        st.session_state.get(links.RAW, {}).pop(key, None)
    return labels


# pictures come at their own size (a fraction of the bytes) and the browser enlarges them;
# it would smooth them, but a generator's pixels should stay square on a projector
st.html(
    "<style>[data-testid='stImage'] img {image-rendering: pixelated;}"
    ".st-key-numbered img {image-rendering: auto;}</style>"
)
tab_i, tab_a, tab_w = st.tabs(tab_labels(), key="latent_tab", bind="query-params")
if tab_i.open:
    with tab_i:
        interpolation(G, nz, gen.cfg.image_size)
if tab_a.open:
    with tab_a:
        arithmetic(G, nz, gen.cfg.image_size)
if tab_w.open:
    with tab_w:
        random_walk(G, nz, gen.cfg.image_size)

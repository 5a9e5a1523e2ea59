"""Latent space: interpolation (lerp vs slerp), the DCGAN paper's vector arithmetic, and a
random walk, all from one generator (shipped, the live job's, or a saved checkpoint).

Every slider move makes one batched generator call, so the page stays quick on a CPU.
"""

import numpy as np
import streamlit as st
import torch

from dcgan import latent, plots
from dcgan.images import gif_bytes, grid_array, to_uint8, upscale
from ui import generators, nav

nav.page_setup()

st.title("Latent space")
st.markdown(
    "G maps each noise vector z to an image. Nearby vectors give similar images, so walking "
    "through z-space morphs one image into another, and averages of vectors behave like "
    "averages of concepts."
)

gen = generators.generator_picker()
if gen is None:
    st.stop()
G, m = gen.G, gen.cfg
st.caption(f"Using {gen.label}: {m.image_size}×{m.image_size} images, nz = {m.nz}.")
if gen.note:
    st.info(gen.note)


def tiles(images: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, H, W) in [-1, 1] -> list of (H, W, 3) uint8 arrays."""
    return list(to_uint8(images).permute(0, 2, 3, 1).numpy())


tab_i, tab_a, tab_w = st.tabs(["Interpolation", "Vector arithmetic", "Random walk"])

with tab_i:
    c = st.columns(4)
    seed_a = c[0].number_input("Seed A", 0, 100_000, 1, key="li_a")
    seed_b = c[1].number_input("Seed B", 0, 100_000, 2, key="li_b")
    n_steps = c[2].slider("Images in the strip", 3, 16, 9, key="li_n")
    t = c[3].slider("t (position between A and B)", 0.0, 1.0, 0.5, 0.01, key="li_t")
    z0, z1 = latent.sample_z(1, m.nz, seed_a), latent.sample_z(1, m.nz, seed_b)
    paths = {mode: latent.interpolate(z0, z1, n_steps, mode) for mode in ("lerp", "slerp")}
    at_t = {
        "lerp": latent.lerp(z0, z1, torch.tensor([t])),
        "slerp": latent.slerp(z0, z1, torch.tensor([t])),
    }
    # one batched call: both strips and both images at t
    batch = torch.cat([paths["lerp"], paths["slerp"], at_t["lerp"], at_t["slerp"]])
    imgs = latent.generate(G, batch)
    strip_l, strip_s = imgs[:n_steps], imgs[n_steps : 2 * n_steps]
    img_l, img_s = tiles(imgs[-2:])
    c1, c2, c3 = st.columns([1, 1, 2])
    norm_l = at_t["lerp"].flatten().norm().item()
    norm_s = at_t["slerp"].flatten().norm().item()
    c1.image(upscale(img_l, 220), caption=f"lerp at t = {t:.2f}, ‖z‖ = {norm_l:.2f}")
    c2.image(upscale(img_s, 220), caption=f"slerp at t = {t:.2f}, ‖z‖ = {norm_s:.2f}")
    norms = {k: v.flatten(1).norm(dim=1).numpy() for k, v in paths.items()}
    fig = plots.norm_figure(norms, m.nz)
    fig.add_vline(x=t, line_dash="dash", line_color="grey")
    c3.plotly_chart(fig, key="li_norm")
    st.markdown("**Linear (lerp)**: a straight line; its middle is shorter than typical z.")
    st.image(upscale(grid_array(strip_l, nrow=n_steps), 1000))
    st.markdown("**Spherical (slerp)**: a great circle; ‖z‖ stays near √nz all the way.")
    st.image(upscale(grid_array(strip_s, nrow=n_steps), 1000))
    st.caption(
        "High-dimensional Gaussian samples sit near a sphere of radius √nz, and G was trained "
        "only there. A straight line cuts inside that shell, so lerp's middle images can look "
        "washed out; slerp stays on it."
    )

with tab_a:
    st.markdown(
        "The DCGAN paper's trick: average a few samples that share a concept (one vector is "
        "noisy), then add and subtract the averages: **mean(A) − mean(B) + mean(C)**. Pick the "
        "samples for each group from the grid by their numbers."
    )
    st.page_link(
        "pages/arithmetic.py",
        label="Score it: on the built-in shapes a classifier checks the arithmetic, as a number",
        icon=":material/calculate:",
    )
    c = st.columns([1, 1, 2])
    pool_seed = c[0].number_input("Grid seed", 0, 100_000, 0, key="va_seed")
    pool_n = c[1].select_slider("Grid size", (16, 24, 32, 48), value=24, key="va_n")
    pool_z = latent.sample_z(pool_n, m.nz, pool_seed)
    pool = tiles(latent.generate(G, pool_z))
    st.image(
        [upscale(p, 72) for p in pool],
        caption=[str(i) for i in range(pool_n)],
    )
    idx = list(range(pool_n))
    g = st.columns(3)
    groups = {}
    for col, name, default in zip(g, "ABC", ([0, 1, 2], [3, 4, 5], [6, 7, 8]), strict=True):
        groups[name] = col.multiselect(f"Group {name}", idx, default=default, key=f"va_{name}")
    k = st.columns(4)
    ca = k[0].slider("coefficient of A", -2.0, 2.0, 1.0, 0.1, key="va_ca")
    cb = k[1].slider("coefficient of B", -2.0, 2.0, -1.0, 0.1, key="va_cb")
    cc = k[2].slider("coefficient of C", -2.0, 2.0, 1.0, 0.1, key="va_cc")
    noise = k[3].slider("noise around the result", 0.0, 1.0, 0.25, 0.05, key="va_noise")
    if not all(groups.values()):
        st.warning("Each group needs at least one sample: pick numbers from the grid.")
    else:
        a, b, cz = (pool_z[groups[n]] for n in "ABC")
        result = latent.vector_arithmetic(a, b, cz, (ca, cb, cc))
        means = torch.cat([grp.mean(0, keepdim=True) for grp in (a, b, cz)])
        around = latent.jitter(result, 9, scale=noise, seed=pool_seed)
        out = latent.generate(G, torch.cat([means, result, around]))
        mean_imgs = tiles(out[:4])
        r = st.columns(5)
        for col, img, label in zip(
            r,
            mean_imgs,
            ("mean(A)", "mean(B)", "mean(C)", f"{ca:g}·A {cb:+g}·B {cc:+g}·C"),
            strict=False,
        ):
            col.image(upscale(img, 160), caption=label)
        r[4].image(upscale(grid_array(out[4:], nrow=3), 220), caption=f"9 results, noise {noise:g}")

with tab_w:
    c = st.columns(4)
    walk_seed = c[0].number_input("Seed", 0, 100_000, 0, key="rw_seed")
    frames = c[1].slider("Frames", 16, 96, 48, 8, key="rw_frames")
    walkers = c[2].slider("Walkers side by side", 1, 6, 4, key="rw_n")
    ms = c[3].slider("Milliseconds per frame", 40, 400, 100, 20, key="rw_ms")
    # (walkers, frames, nz, 1, 1) -> one batch of walkers * frames vectors
    walks = torch.stack([latent.random_walk(m.nz, frames, walk_seed + i) for i in range(walkers)])
    imgs = latent.generate(G, walks.transpose(0, 1).reshape(-1, m.nz, 1, 1))
    per_frame = imgs.reshape(frames, walkers, *imgs.shape[1:])
    gif = gif_bytes(
        [grid_array(f, nrow=walkers) for f in per_frame],
        ms_per_frame=ms,
        scale=max(1, 160 // m.image_size),
    )
    st.image(gif, caption=f"{walkers} random walks, {frames} frames (slerp between anchors)")
    st.download_button(
        "Download the GIF", gif, file_name="latent-walk.gif", mime="image/gif", on_click="ignore"
    )

"""Data: pick a dataset, see its first 20 images as the chapter shows them, and what was skipped."""

from pathlib import Path

import pandas as pd
import streamlit as st

from dcgan import data as dcdata
from dcgan.images import grid_array, upscale
from ui import jobs, nav, state, uploads

nav.page_setup()

st.title("Data")
st.markdown(
    "A GAN learns whatever its training images have in common. Pick a dataset; it is "
    "decoded once, resized and cached, so training never touches an image file again."
)

OPTIONS = {  # the registry's datasets, then a folder or an upload
    **{s.name: s.picker_label for s in dcdata.SOURCES.values()},
    "folder": "An image folder on this machine",
    "upload": "Upload a zip of images",
}
c1, c2 = st.columns([3, 1])
choice = c1.radio(
    "Dataset", list(OPTIONS), format_func=OPTIONS.get, key="data_choice", horizontal=True
)
current = jobs.current_config()[0].model.image_size
size = c2.selectbox(
    "Image size", (32, 64, 128), index=(32, 64, 128).index(current), key="data_size"
)

source, classes = None, None
named = dcdata.SOURCES.get(choice)
if named is not None:
    source = choice
    st.caption(named.description)
if named is not None and named.classes:
    picked = st.multiselect(
        f"Classes (empty keeps all {len(named.classes)})",
        list(range(len(named.classes))),
        format_func=lambda i: named.classes[i],
        key="data_classes",
    )
    classes = tuple(picked) or None
elif choice == "folder":
    folder = st.text_input("Folder path", key="data_folder", placeholder="/path/to/images")
    source = folder.strip() or None
    if source:
        try:
            dcdata.check_path_allowed(source)
        except dcdata.DataError as e:
            st.error(str(e))
            source = None
elif choice == "upload":
    up = st.file_uploader("Zip of images (ImageFolder layout or flat)", type=["zip"])
    if up is not None:
        source = str(uploads.save_upload(up.name, up.getvalue()))

request = (source, size, classes)
auto = source == "shapes"  # built in and fast: shown at once; others wait for a click
button_slot = st.empty()
if source and not auto and st.session_state.get("data_loaded", {}).get("request") != request:
    if button_slot.button(
        f"Load {Path(source).name if choice == 'upload' else source}", type="primary"
    ):
        st.session_state["data_go"] = request

if source and (auto or st.session_state.get("data_go") == request):
    cached = st.session_state.get("data_loaded", {})
    if cached.get("request") != request:
        bar = st.progress(0.0, text=f"Loading {Path(source).name}…")

        def progress(done, total):
            """Move the bar; the load runs in this script thread, so st calls are fine."""
            frac = done / total if total else 0.0
            of = f" of {total:,}" if total else ""
            bar.progress(min(frac, 1.0), text=f"Loading… {done:,}{of}")

        try:
            s = dcdata.load(source, size, classes=classes, progress=progress)
        except dcdata.DataError as e:
            bar.empty()
            st.error(str(e))
            st.stop()
        bar.empty()
        button_slot.empty()
        cached = {
            "request": request,
            "grid": grid_array(s.images[:20], nrow=5),
            "count": len(s),
            "resolution": s.resolution,
            "skipped": len(s.skipped),
            "reasons": dict(s.skip_reasons()),
            "examples": [f"{n}: {r}" for n, r in s.skipped[:10]],
            "classes": s.class_names,
            "from_cache": s.from_cache,
        }
        st.session_state["data_loaded"] = cached

    left, right = st.columns([3, 2])
    left.image(
        upscale(cached["grid"]),
        caption=f"The first 20 images of {Path(source).name}, in source order (4×5, as the "
        "chapter shows them)",
    )
    with right:
        c1, c2 = st.columns(2)
        c1.metric("Images", f"{cached['count']:,}")
        c2.metric("Resolution", f"{cached['resolution']}×{cached['resolution']}")
        st.metric("Files skipped", cached["skipped"])
        if cached["skipped"]:
            st.dataframe(
                pd.DataFrame(
                    {"reason": list(cached["reasons"]), "files": cached["reasons"].values()}
                ),
                hide_index=True,
            )
            with st.expander("First skipped files"):
                st.code("\n".join(cached["examples"]))
        if cached["classes"]:
            names = cached["classes"]
            more = f", … ({len(names)} in all)" if len(names) > 12 else ""
            st.caption("Classes: " + ", ".join(names[:12]) + more)
        if cached["from_cache"]:
            st.caption("Read from the decoded cache (DCGAN_DATA_DIR), not the original files.")
        if st.button("Train on this dataset", help="Selects it on the Train page"):
            state.hand_dataset(source, classes)
            st.switch_page("pages/train.py")
elif not source:
    st.info("Choose a folder or upload a zip to see its images.")

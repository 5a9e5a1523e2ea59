"""Data: pick a dataset, see its first 20 images as the chapter shows them, and what was skipped."""

from pathlib import Path

import pandas as pd
import streamlit as st

from dcgan import data as dcdata
from dcgan.i18n import N_, _, number
from dcgan.images import grid_array, upscale
from ui import jobs, nav, state, uploads

nav.page_setup()

st.title(_("Data"))
st.markdown(
    _(
        "A GAN learns whatever its training images have in common. Pick a dataset; it is "
        "decoded once, resized and cached, so training never touches an image file again."
    )
)

OTHERS = {  # after the registry's datasets: a folder or an upload
    "folder": N_("An image folder on this machine"),
    "upload": N_("Upload a zip of images"),
}


def option_label(name: str) -> str:
    """A dataset option as the radio shows it: the registry's picker label, or ours."""
    return _(OTHERS[name]) if name in OTHERS else dcdata.SOURCES[name].picker_label


c1, c2 = st.columns([3, 1])
choice = c1.radio(
    _("Dataset"),
    [*dcdata.SOURCES, *OTHERS],
    format_func=option_label,
    key="data_choice",
    horizontal=True,
)
current = jobs.current_config()[0].model.image_size
size = c2.selectbox(
    _("Image size"), (32, 64, 128), index=(32, 64, 128).index(current), key="data_size"
)

source, classes = None, None
named = dcdata.SOURCES.get(choice)
if named is not None:
    source = choice
    st.caption(_(named.description))  # marked N_ in the registry
if named is not None and named.classes:
    picked = st.multiselect(
        _("Classes (empty keeps all {n})").format(n=len(named.classes)),
        list(range(len(named.classes))),
        format_func=lambda i: _(named.classes[i]),
        key="data_classes",
    )
    classes = tuple(picked) or None
elif choice == "folder":
    folder = st.text_input(_("Folder path"), key="data_folder", placeholder=_("/path/to/images"))
    source = folder.strip() or None
    if source:
        try:
            dcdata.check_path_allowed(source)
        except dcdata.DataError as e:
            st.error(str(e))
            source = None
elif choice == "upload":
    up = st.file_uploader(_("Zip of images (ImageFolder layout or flat)"), type=["zip"])
    if up is not None:
        source = str(uploads.save_upload(up.name, up.getvalue()))

request = (source, size, classes)
auto = source == "shapes"  # built in and fast: shown at once; others wait for a click
button_slot = st.empty()
if source and not auto and st.session_state.get("data_loaded", {}).get("request") != request:
    shown = Path(source).name if choice == "upload" else source
    if button_slot.button(_("Load {name}").format(name=shown), type="primary"):
        st.session_state["data_go"] = request

if source and (auto or st.session_state.get("data_go") == request):
    cached = st.session_state.get("data_loaded", {})
    if cached.get("request") != request:
        shown = dcdata.source_label(source)
        bar = st.progress(0.0, text=_("Loading {name}…").format(name=shown))

        def progress(done, total):
            """Move the bar; the load runs in this script thread, so st calls are fine."""
            frac = done / total if total else 0.0
            text = (
                _("Loading… {done} of {total}").format(done=number(done), total=number(total))
                if total
                else _("Loading… {done}").format(done=number(done))
            )
            bar.progress(min(frac, 1.0), text=text)

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
        caption=_(
            "The first 20 images of {name}, in source order (4×5, as the chapter shows them)"
        ).format(name=dcdata.source_label(source)),
    )
    with right:
        c1, c2 = st.columns(2)
        c1.metric(_("Images"), number(cached["count"]))
        c2.metric(_("Resolution"), f"{cached['resolution']}×{cached['resolution']}")
        st.metric(_("Files skipped"), number(cached["skipped"]))
        if cached["skipped"]:
            st.dataframe(
                pd.DataFrame(
                    {
                        _("reason"): list(cached["reasons"]),
                        _("files"): cached["reasons"].values(),
                    }
                ),
                hide_index=True,
            )
            with st.expander(_("First skipped files")):
                st.code("\n".join(cached["examples"]))
        if cached["classes"]:
            # a registry dataset's class names are msgids; a folder's are its subfolders' names
            names = [_(n) for n in cached["classes"]] if named else cached["classes"]
            more = _(", … ({n} in all)").format(n=len(names)) if len(names) > 12 else ""
            st.caption(_("Classes: {names}").format(names=", ".join(names[:12]) + more))
        if cached["from_cache"]:
            st.caption(_("Read from the decoded cache (`DCGAN_DATA_DIR`), not the original files."))
        if st.button(_("Train on this dataset"), help=_("Selects it on the Train page")):
            state.hand_dataset(source, classes)
            st.switch_page("pages/train.py")
elif not source:
    st.info(_("Choose a folder or upload a zip to see its images."))

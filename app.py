"""DCGAN Playground: the Streamlit entry point (`streamlit run app.py`, or `make run`).

Each page teaches one idea of the d2l.ai DCGAN chapter. Pages are thin: widgets build a
config, one call goes into the `dcgan` engine, and the result is drawn. Every page works on a
CPU-only machine without internet; training uses the GPU when there is one.
"""

from pathlib import Path

import streamlit as st

from dcgan.i18n import _
from ui import i18n, nav

# Hidden: every page draws the same links itself (nav.page_setup), so a deep link opened
# before app.py ever ran (Streamlit then runs the page file alone) looks the same. No icon
# here: a page's Material icon becomes the tab's favicon, fetched from fonts.gstatic.com on
# every page (offline, a failed request); page_setup sets a local favicon instead.
i18n.apply()  # the page titles below are in the session's language
page = st.navigation(
    [
        st.Page(p.path, title=_(p.title), url_path=Path(p.path).stem, default=i == 0)
        for i, p in enumerate(nav.PAGES)
    ],
    position="hidden",
)
page.run()

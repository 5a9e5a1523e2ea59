"""Streamlit helpers shared by the pages: navigation, the job handle, generators, uploads.

They live outside pages/ on purpose: Streamlit serves every file under pages/ as a page when a
deep link arrives before app.py has run, so a helper module there could be opened by URL.
Streamlit may be imported here; anything a second UI could reuse lives in dcgan/ instead.
"""

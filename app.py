"""DCGAN Playground: the Streamlit entry point (`streamlit run app.py`)."""

import streamlit as st

st.set_page_config(page_title="DCGAN Playground", page_icon="🎨", layout="wide")
st.title("DCGAN Playground")
st.write("The pages arrive with the Streamlit issue; the engine lives in `dcgan/`.")

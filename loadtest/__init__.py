"""Load tests for a classroom: many Streamlit sessions on the Train page, many Space requests.

Not part of `make test` (each takes minutes). One command each, printing its figures:

    python -m loadtest.streamlit_sessions --sessions 30
    python -m loadtest.space_requests --requests 50

Everything runs on 127.0.0.1, and every loop is bounded in count and in time.
"""

"""GAN basics before Train is pressed: the first look already shows the real points, G's
untrained cloud and D's surface, and says what they mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds per script run; generous for a busy 2-core CI machine


def test_gan_basics_draws_the_starting_state_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/gan_basics.py").run()
    assert not at.exception, [e.value for e in at.exception]
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    assert len(figs) == 1, "one chart, drawn before any training"
    traces = {t.get("type", "scatter"): t for t in figs[0]["data"]}
    assert traces["heatmap"]["z"], "D's decision surface is drawn"
    names = [t.get("name") for t in figs[0]["data"] if t.get("type", "scatter") == "scatter"]
    assert names == ["real", "generated"]
    text = " ".join(m.value for m in at.markdown)
    assert "Before training" in text and "generated (epoch 0)" in text
    assert "gb_frames" not in at.session_state, "nothing was trained to draw it"

"""The Train page's shared reader (ui.jobs.SharedRun) stays cheap without showing stale or wrong
charts: a shared figure draws exactly what the plain figure draws, and new rows reach the charts
once the rebuild interval allows."""

from __future__ import annotations

import os

import plotly.io as pio
import plotly.tools
import pytest

from dcgan import plots, runs
from ui import jobs


def write_rows(run_dir, first: int, n: int) -> None:
    """n metric rows from step `first`, as a job appends them."""
    rows = [
        {"step": s, "loss_D": 1.0 + s, "loss_G": 2.0, "D_x": 0.6, "D_G_z1": 0.4,
         "grad_norm_G": 1.0, "grad_norm_D": 1.0, "examples_per_sec": 100.0}
        for s in range(first, first + n)
    ]  # fmt: skip
    runs.append_jsonl(run_dir / runs.METRICS, rows)


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "REFRESH_S", 0.0)  # every refresh reads the folder
    me = os.getpid()  # a live run: this process stands in for its job
    runs.write_pid(tmp_path, me)
    runs.write_json(tmp_path / runs.STATUS, {"status": "running", "step": 0, "pid": me})
    write_rows(tmp_path, 1, 10)
    return tmp_path


def spec(fig) -> str:
    """What st.plotly_chart sends for a figure."""
    return pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, True), validate=False)


def test_shared_figure_sends_what_the_plain_figure_sends(run_dir):
    shared = jobs.SharedRun(str(run_dir))
    shared.refresh()
    figs = shared.figures(0.6, "cpu")
    steps, loss_D = shared.series("loss_D")
    plain = plots.loss_figure(steps, loss_D, shared.series("loss_G")[1], 0.6)
    assert isinstance(figs[0], jobs.SharedFigure)
    assert spec(figs[0]) == spec(plain)
    assert figs[0].to_dict() is figs[0].to_dict()  # made once, whoever draws it


def test_new_rows_reach_the_charts_after_the_rebuild_interval(run_dir, monkeypatch):
    shared = jobs.SharedRun(str(run_dir))
    monkeypatch.setattr(jobs, "CHARTS_EVERY_S", 3600.0)
    shared.refresh()
    first = shared.figures(0.0, "cpu")
    write_rows(run_dir, 11, 5)
    shared.refresh()
    assert shared.figures(0.0, "cpu") is first  # within the interval: the same figures
    monkeypatch.setattr(jobs, "CHARTS_EVERY_S", 0.0)
    later = shared.figures(0.0, "cpu")
    assert later is not first
    assert max(later[0].data[0].x) == 15 and max(first[0].data[0].x) == 10
    assert shared.figures(0.3, "cpu") is not later  # another smoothing, its own figures


def test_health_hints_follow_new_data(run_dir):
    shared = jobs.SharedRun(str(run_dir))
    shared.refresh()
    config = {"model": {"image_size": 32}, "train": {}}
    before = shared.hints(config, 32)
    assert shared.hints(config, 32) is before  # same data: computed once for every session
    write_rows(run_dir, 11, 5)
    shared.refresh()
    assert shared.hints(config, 32) is not before


def test_a_readers_config_follows_a_rewritten_config_file(run_dir):
    """The config is read once, not on every rerun, yet a CLI run that reuses the folder
    (and rewrites config.json) is seen with its new settings."""
    reader = runs.RunReader(run_dir)
    assert reader.config() is None
    runs.write_json(run_dir / runs.CONFIG, {"preset": "d2l", "train": {"lr": 0.005}})
    assert reader.config()["preset"] == "d2l"
    runs.write_json(run_dir / runs.CONFIG, {"preset": "paper", "train": {"lr": 0.0002}})
    assert reader.config() == {"preset": "paper", "train": {"lr": 0.0002}}


def test_live_charts_keep_at_most_max_points_a_trace_in_float32(run_dir):
    """A long run's charts stay small on the wire for every viewer: each trace is thinned to
    plots.MAX_POINTS points and sent as 4-byte floats, ending at the newest step."""
    write_rows(run_dir, 11, 5000)
    run = jobs.SharedRun(str(run_dir))
    run.refresh()
    for fig in run.figures(0.6, "cpu"):
        for trace in fig.data:
            assert len(trace.x) <= plots.MAX_POINTS and trace.x.dtype.itemsize == 4
            assert trace.x[-1] > 4000  # the newest bucket is always drawn

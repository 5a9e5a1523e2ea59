"""Compare runs: any two or more run folders (app runs, CLI runs, experiment arms) side by side.

Overlaid loss and D(x)/D(G(z)) curves, the timelines at equal steps (one slider; each run shows
its newest frame at or before that step), and each run's final quality figure (SWD, computed
once per generator snapshot and cached in the run folder by dcgan.compare.quality).
"""

from pathlib import Path

import streamlit as st

from dcgan import compare, runs
from dcgan.i18n import N_, _, ngettext, number
from ui import jobs
from ui.page_parts import grid_page_head

grid_page_head(
    N_("Compare runs"),
    N_(
        "Pick two or more runs from this server's runs folder: runs started on the Train page, "
        "runs of `python -m dcgan.train --out` under it, and the arms of experiments. "
        "What to look for: where the curves part, which run's samples take shape first at the "
        "same step, and which ends closest to the real images (lowest SWD)."
    ),
)
ss = st.session_state

root = jobs.runs_dir()
found = runs.list_runs(root, nested=True)
if len(found) < 2:
    st.info(
        ngettext(
            "Comparing needs at least two runs in `{root}`; there is {n}. "
            "Train on the Train page or start an experiment on the Experiments page.",
            "Comparing needs at least two runs in `{root}`; there are {n}. "
            "Train on the Train page or start an experiment on the Experiments page.",
            len(found),
        ).format(root=root, n=len(found))
    )
    st.stop()


def label(p: str) -> str:
    """The run's path under the runs folder: 'exp-folder/arm' for an experiment's arm."""
    try:
        return str(Path(p).relative_to(root))
    except ValueError:
        return str(p)


options = [str(p) for p in found]
if "cmp_runs" in ss:
    ss.cmp_runs = [p for p in ss.cmp_runs if p in options]
picked = st.multiselect(_("Runs"), options, default=options[:2], format_func=label, key="cmp_runs")
if len(picked) < 2:
    st.info(_("Pick at least two runs."))
    st.stop()

names = {p: label(p) for p in picked}
status = {p: runs.RunReader(p).status() for p in picked}


@st.cache_data(show_spinner=False, max_entries=64)
def series_of(run_dir: str, size: int) -> dict:
    """A run's loss and D-output series; size (of metrics.jsonl) is the cache key."""
    return compare.read_series(run_dir, ("loss_D", "loss_G", "D_x", "D_G_z1"))


def metrics_size(run_dir: str) -> int:
    """metrics.jsonl's size, so cached series refresh as a live run appends."""
    try:
        return (Path(run_dir) / runs.METRICS).stat().st_size
    except OSError:
        return 0


smoothing = st.slider(_("Smoothing"), 0.0, 0.99, 0.6, 0.01, key="cmp_smooth")
series = {names[p]: series_of(p, metrics_size(p)) for p in picked}
c = st.columns(2)
c[0].plotly_chart(compare.loss_overlay(series, smoothing), key="cmp_loss")
c[1].plotly_chart(compare.d_outputs_overlay(series, smoothing), key="cmp_dout")

# ------------------------------------------------------------------ timelines at equal steps

st.subheader(_("Timelines at equal steps"))
frames = {p: runs.timeline(Path(p)) for p in picked}
all_steps = sorted({s for f in frames.values() for s, _path in f})
if not all_steps:
    st.caption(_("None of these runs has recorded a sample grid yet."))
else:
    if len(all_steps) == 1:
        step = all_steps[0]
    else:
        step = st.select_slider(
            _("Step"), options=all_steps, value=all_steps[-1], format_func=number, key="cmp_step"
        )
    cols = st.columns(min(len(picked), 4))
    for i, p in enumerate(picked):
        col = cols[i % len(cols)]
        got = compare.frame_at(frames[p], step)
        col.markdown(f"**{names[p]}**")
        if got is None:
            col.caption(_("no frames yet"))
            continue
        s, path = got
        try:
            col.image(path.read_bytes(), width="stretch", output_format="PNG")
        except OSError:
            col.caption(_("that frame was just thinned away; move the slider"))
            continue
        if s == step:
            col.caption(_("step {step}").format(step=number(s)))
        else:
            col.caption(
                _("step {step} (its newest frame at or before {wanted})").format(
                    step=number(s), wanted=number(step)
                )
            )

# ------------------------------------------------------------------ quality

st.subheader(_("Final quality"))
st.caption(
    _(
        "SWD×10³ (Karras et al. 2018) of each run's generator snapshot against "
        "{n} real images of its own data; lower is closer. Computed once per "
        "snapshot and kept in the run folder (quality.json). A live run's snapshot changes every "
        "second, so it is scored once it ends. Compare runs on the same dataset only."
    ).format(n=number(compare.QUALITY_N))
)
quality = {}
with st.spinner(_("Scoring the generators (a few seconds each, once)…")):
    for p in picked:
        live = status[p].get("status") in runs.LIVE
        try:
            quality[p] = compare.cached_quality(p) if live else compare.quality(p)
        except Exception as e:  # a damaged snapshot or missing data: say which run and why
            st.warning(
                _("{run}: no quality figure ({error}).").format(
                    run=names[p], error=f"{type(e).__name__}: {e}"
                )
            )
            quality[p] = None
cols = st.columns(min(len(picked), 4))
for i, p in enumerate(picked):
    q = quality[p]
    cols[i % len(cols)].metric(
        names[p],
        number(q["swd"], 2) if q else "—",
        help=(
            _("step {step}, n = {n}").format(step=number(q["step"]), n=number(q["n_used"]))
            if q
            else _("no generator snapshot yet")
        ),
    )
if sum(q is not None for q in quality.values()) >= 2:
    st.plotly_chart(
        compare.quality_figure(
            [names[p] for p in picked], [q["swd"] if q else None for q in quality.values()]
        ),
        key="cmp_quality",
    )

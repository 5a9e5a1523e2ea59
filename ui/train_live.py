"""The Train page's live view: status and the sample grid every second, the charts every three,
the timeline every ten.

Each part is a fragment with its own clock, because each rerun costs every viewer: the step
and the grid must feel live, the charts are most of the bytes, the timeline changes slowly.
All of them read the one SharedRun of the live run (ui.jobs), never the folder itself.
"""

from __future__ import annotations

import time

import streamlit as st

from dcgan import runs
from dcgan.i18n import _, ngettext, number
from dcgan.images import captioned_gif, png_array
from ui import jobs
from ui.train_settings import KEEP


def current_run():
    """The live (or newest) run, its shared reader and its status (refreshed at most every
    REFRESH_S for everyone); (None, None, {}) before the first run."""
    job = jobs.current_job()
    if job is None:
        return None, None, {}
    run = jobs.shared_run(str(job.dir))
    return job, run, run.refresh()


def grid_pace(train: dict) -> str:
    """'every 50 steps, at most one per 2 s' (or 'one every 1 s') for a run's train config."""
    every, pace = train.get("sample_every", 0), train.get("sample_min_s") or 0
    if every == 1 and pace:
        return _("one every {seconds} s").format(seconds=number(pace))
    steps = ngettext("every step", "every {n} steps", every).format(n=number(every))
    if not pace:
        return steps
    return _("{steps}, at most one per {seconds} s").format(steps=steps, seconds=number(pace))


def _status_row(job, s: dict, config: dict) -> None:
    """Four metrics, then the progress bar and any failure."""
    c = st.columns(4)  # every element is a message per viewer per second: four, not five
    c[0].metric(_("Status"), jobs.status_label(s.get("status", "?")))
    total = s.get("total_steps") or 0
    # "k" after thousands fits a quarter width in every language
    short = f"{number(round(total / 1000))}k" if total >= 10_000 else number(total)
    c[1].metric(
        _("Step"),
        f"{number(s.get('step', 0))} / {short}" if total else "…",
        help=ngettext("of {n} step", "of {n} steps", total).format(n=number(total)),
    )
    c[2].metric(_("Examples/sec"), number(s.get("examples_per_sec", 0), 0))
    elapsed = (s.get("updated_at") or time.time()) - (s.get("started_at") or time.time())
    where = " · ".join(x for x in (s.get("device"), s.get("precision")) if x) or "…"
    c[3].metric(
        _("Device · precision"),
        where,
        help=_("running for {seconds} s").format(seconds=number(elapsed, 0)),
    )
    if s.get("status") == "loading":
        st.progress(
            s.get("load_progress", 0.0),
            text=_("Loading {dataset}…").format(dataset=config["data"]["source"]),
        )
    elif total:
        st.progress(
            min(1.0, s.get("step", 0) / total), text=f"{job.dir.name}: " + jobs.job_summary(config)
        )
    if s.get("error"):
        st.error(_("The job failed: {error}").format(error=s["error"]))


def _grids(run, config: dict) -> None:
    """The newest grid from the fixed noise, and the raw G's beside it when the user asks."""
    st.markdown(_("**Samples from the fixed noise**"))
    if run.grid is None:
        st.caption(_("The first grid appears after the first step."))
        return
    ema = config.get("train", {}).get("ema_decay", 0)
    both = bool(ema) and run.grid_raw is not None
    both = both and st.toggle(
        _("Raw G beside the average"),
        key="tr_raw",
        help=_(
            "The raw generator jumps with every step; the average (EMA) is where "
            "training is heading. The difference is the point of the EMA."
        ),
    )
    where = st.columns(2) if both else [st.container()]
    where[0].image(
        run.grid[1],
        width="stretch",
        alt=_("live sample grid"),
        output_format="PNG",  # "auto" re-encodes a PNG as JPEG on every rerun
        caption=(
            _("step {step} (weight average, EMA), {pace}") if ema else _("step {step}, {pace}")
        ).format(step=number(run.grid[0]), pace=grid_pace(config.get("train", {}))),
    )
    if both:
        where[1].image(
            run.grid_raw,
            width="stretch",
            alt=_("raw generator grid"),
            output_format="PNG",
            caption=_("the raw G, same noise"),
        )


@st.fragment(run_every=1)
def live_view() -> None:
    """Status, the live sample grid and health hints, redrawn every second: a new step shows
    within about a second, for the cost of a few small elements per viewer."""
    job, run, s = current_run()
    if job is None:
        st.info(
            _(
                "No training job yet. The settings on the left default to the classroom-cpu "
                "preset on the built-in shapes: press Start and recognisable shapes appear on a "
                "laptop CPU within about a minute."
            )
        )
        return
    config = run.config()
    _status_row(job, s, config)
    left, right = st.columns([2, 3])
    with left:
        _grids(run, config)
    with right:
        st.markdown(_("**Health**"))
        tile = int(config.get("model", {}).get("image_size", 64))
        for h in run.hints(config, tile):
            box = {"ok": st.success, "warning": st.warning}.get(h.level, st.info)
            box(f"**{h.title}.** {h.message}  \n_{h.evidence}_")


@st.fragment(run_every=jobs.CHARTS_EVERY_S)
def live_charts() -> None:
    """The four charts, every three seconds: they are most of a rerun's bytes and CPU, and a
    curve that moves every few seconds still reads as live (the step shows every second)."""
    job, run, s = current_run()
    if job is None:
        return
    smoothing = st.slider(
        _("Smoothing"), 0.0, 0.99, 0.6, step=0.01, key="tr_smooth", persist_state=KEEP
    )
    if not run.has_metrics:
        st.caption(_("Charts appear once the first metrics arrive."))
        return
    figs = run.figures(smoothing, f"{s.get('device', '')} ({s.get('precision', '')})")
    keys = ("ch_loss", "ch_d", "ch_grad", "ch_eps")
    for i in (0, 2):
        cols = st.columns(2)
        for col, fig, key in zip(cols, figs[i : i + 2], keys[i : i + 2], strict=True):
            col.plotly_chart(fig, key=key)


@st.fragment(run_every=10)
def timeline_view() -> None:
    """Scrub back through the recorded grids; download them as an animated GIF. Every ten
    seconds: the live grid above shows each new frame, and each rerun costs every viewer."""
    st.subheader(_("Timeline"))
    ss = st.session_state
    job = jobs.current_job()
    frames = runs.timeline(job.dir) if job is not None else []
    if len(frames) < 2:
        st.caption(_("The timeline fills as training records sample grids."))
        return
    steps = [s for s, _path in frames]
    if ss.get("tr_frame") not in steps or ss.tr_frame == ss.get("tr_frame_last"):
        ss.tr_frame = steps[-1]  # new, thinned away, or following the newest frame
    ss.tr_frame_last = steps[-1]
    step = st.select_slider(_("Step"), options=steps, key="tr_frame")
    paths = dict(frames)
    left, right = st.columns([2, 3])
    try:
        left.image(
            paths[step].read_bytes(),
            width="stretch",
            output_format="PNG",
            caption=_("step {step}").format(step=number(step)),
        )
    except OSError:
        left.caption(_("That frame was just thinned away; pick another."))
    keep = frames[-100:]
    right.markdown(
        _(
            "{frames} frames from step {first} to {last}. The GIF plays the last {kept} of "
            "them, oldest first."
        ).format(
            frames=number(len(frames)),
            first=number(steps[0]),
            last=number(steps[-1]),
            kept=number(len(keep)),
        )
    )
    # each frame says its step in the reader's language; worded here, where the session's
    # language is known, since the GIF itself is made later, when the button is pressed
    shown = [(p, _("Step {step}").format(step=number(step))) for step, p in keep]
    right.download_button(
        _("Download the timeline as a GIF"),
        data=lambda: timeline_gif(shown),
        file_name="dcgan-timeline.gif",
        mime="image/gif",
        on_click="ignore",
        icon=":material/movie:",
    )


def timeline_gif(shown: list) -> bytes:
    """The kept grids, oldest first, as a GIF captioned with their steps; a grid thinned away
    since the page was drawn is left out."""
    frames, captions = [], []
    for path, caption in shown:
        try:
            frames.append(png_array(path.read_bytes()))
        except OSError:
            continue
        captions.append(caption)
    return captioned_gif(frames, captions, 150)

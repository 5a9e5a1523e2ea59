"""Experiments: the chapter's exercises and the paper's choices, each one click.

An experiment runs its arms one after another in one process on the runs folder's one job
slot (dcgan.experiments); every arm is an ordinary run folder, so the Train page shows the arm
now training and the Compare page reads finished arms. This page only reads experiment.json
and the arms' folders.
"""

from pathlib import Path

import pandas as pd
import streamlit as st

from dcgan import compare, runs
from dcgan import experiments as ex
from dcgan.config import ConfigError
from dcgan.data import FASHION_CLASSES, source_label
from dcgan.i18n import N_, _, number
from dcgan.runs import JobBusyError
from ui import jobs
from ui.page_parts import grid_page_head

# an experiment's and an arm's states (ExperimentStatus, JobStatus) as the page words them
STATUS = {
    "waiting": N_("waiting"),
    "starting": N_("starting"),
    "loading": N_("loading"),
    "running": N_("running"),
    "paused": N_("paused"),
    "stopped": N_("stopped"),
    "finished": N_("finished"),
    "failed": N_("failed"),
    "idle": N_("idle"),
}


def status_label(status) -> str:
    """A state in the session's language; one this page does not know, as it is."""
    return _(STATUS[status]) if status in STATUS else str(status)


grid_page_head(
    N_("Experiments"),
    N_(
        "Each experiment asks one question of the chapter or the paper. Its arms differ in one "
        "setting and share everything else (the classroom-cpu model at 32 px, the seed, the "
        "data), and run one after another on the server's one training slot. While an arm "
        "trains, the Train page shows it live and its Stop ends the experiment."
    ),
)
ss = st.session_state

name = st.selectbox(
    _("Experiment"),
    list(ex.CATALOG),
    format_func=lambda n: _(ex.CATALOG[n].title),
    key="ex_name",
    persist_state="session",
)
c = st.columns([1, 3])
steps = c[0].number_input(
    _("Steps per arm"),
    min_value=1,
    max_value=100_000,
    value=ex.STEPS,
    step=100,
    key="ex_steps",
    help=_("The same for every arm. More steps: better samples, longer wait."),
)
classes = None
if ex.CATALOG[name].by_class:
    classes = c[1].multiselect(
        _("Classes (one arm each)"),
        list(range(len(FASHION_CLASSES))),
        default=list(ex.DEFAULT_CLASSES),
        format_func=lambda i: f"{i}: {_(FASHION_CLASSES[i])}",
        key="ex_classes",
    )
try:
    exp = ex.experiment(
        name, steps=int(steps), classes=tuple(classes) if classes is not None else None
    )
    cfgs = exp.configs()
except ConfigError as e:
    st.error(_("Cannot plan this experiment: {error}").format(error=e))
    st.stop()

st.markdown(_("**The question.** {text}").format(text=_(exp.question)))
st.markdown(_("**What to look for.** {text}").format(text=_(exp.look_for)))
base = cfgs[0]
st.dataframe(
    pd.DataFrame(
        {
            _("arm"): [_(a.label) for a in exp.arms],
            _("changes"): [
                ", ".join(f"{k} = {v}" for k, v in a.overrides.items()) for a in exp.arms
            ],
        }
    ),
    hide_index=True,
    width="stretch",
)
measured = ex.measured_eps(jobs.runs_dir())
if measured is not None:
    eps = measured[0]
    where = _("the training speed of this server's last experiment ({name})").format(
        name=measured[1]
    )
else:
    eps = ex.MEASURED_EPS
    where = _(
        "the speed measured for this model on one busy core of the development machine "
        "(bf16); a free laptop core is usually faster"
    )
est = exp.estimate_s(eps)
st.info(
    _(
        "**Total time: about {minutes} minutes** for {arms} arms of {steps} steps (batch "
        "{batch}, {size} px, {source}). The estimate uses {eps} examples/sec, {where}."
    ).format(
        minutes=number(est / 60, 1),
        arms=len(exp.arms),
        steps=number(int(steps)),
        batch=base.train.batch_size,
        size=base.model.image_size,
        source=_(source_label(base.data.source)),
        eps=number(eps, 0),
        where=where,
    )
)

b = st.columns([1, 1, 4])
if b[0].button(_("Start"), type="primary", width="stretch", key="ex_start"):
    try:
        exp_dir = ex.start_experiment(
            name,
            jobs.runs_dir(),
            steps=int(steps),
            classes=tuple(classes) if classes is not None else None,
        )
    except JobBusyError as e:
        st.warning(
            _(
                "Start refused: {error} The server has one training slot; an experiment waits "
                "for the job (or experiment) that holds it."
            ).format(error=e)
        )
    except ConfigError as e:
        st.error(_("Not started: {error}").format(error=e))
    else:
        ss.ex_shown = str(exp_dir)
        st.success(
            _("Started {name}: {arms} arms, about {minutes} min.").format(
                name=exp_dir.name, arms=len(exp.arms), minutes=number(est / 60, 1)
            )
        )

root = jobs.runs_dir()
live_dir = ex.live_experiment(root)
if b[1].button(_("Stop"), width="stretch", key="ex_stop"):
    if live_dir is None:
        st.info(_("No experiment is running."))
    else:
        ex.stop_experiment(live_dir)
        st.info(_("Stopping: the arm now training stops after its step; no further arm starts."))

# ------------------------------------------------------------------ results

st.divider()
found = ex.list_experiments(root)
if not found:
    st.caption(_("No experiments in this runs folder yet; press Start."))
    st.stop()
options = [str(p) for p in found]
default = str(live_dir) if live_dir is not None else ss.get("ex_shown", options[0])
if ss.get("ex_pick") not in options or live_dir is not None:
    ss.ex_pick = default if default in options else options[0]
pick = st.selectbox(
    _("Results of"),
    options,
    format_func=lambda p: Path(p).name,
    key="ex_pick",
)


@st.cache_data(show_spinner=False, max_entries=64)
def arm_series(run_dir: str, size: int) -> dict:
    """An arm's loss and D-output series; size (of metrics.jsonl) is the cache key."""
    return compare.read_series(run_dir, ("loss_D", "loss_G", "D_x", "D_G_z1"))


def metrics_size(run_dir: Path) -> int:
    """metrics.jsonl's size, so cached series refresh when rows arrive."""
    try:
        return (run_dir / runs.METRICS).stat().st_size
    except OSError:
        return 0


def show(exp_dir: Path) -> None:
    """Progress, then the arms side by side: grids, curves, quality, probes."""
    spec = ex.read_experiment(exp_dir)
    if spec is None:
        st.warning(_("{name} has no readable experiment.json.").format(name=exp_dir.name))
        return
    status = spec.get("status")
    arms = spec["arms"]
    done = sum(a.get("status") in ex.ENDED for a in arms)
    st.subheader(_(spec["title"]))
    if status in ex.LIVE:
        cur = spec.get("current") or 0
        arm = arms[cur]
        st_arm = runs.RunReader(exp_dir / arm["key"]).status()
        total = st_arm.get("total_steps") or 0
        frac = (done + (st_arm.get("step", 0) / total if total else 0)) / len(arms)
        st.progress(
            min(1.0, frac),
            text=_("Arm {n} of {arms}: {label} — {status}, step {step}/{total}").format(
                n=cur + 1,
                arms=len(arms),
                label=_(arm["label"]),
                status=status_label(st_arm.get("status")),
                step=number(st_arm.get("step", 0)),
                total=number(total),
            ),
        )
    else:
        secs = sum(a.get("seconds") or 0 for a in arms)
        st.caption(
            _("Status: **{status}**; {done} of {arms} arms ran, {seconds} s in all.").format(
                status=status_label(status), done=done, arms=len(arms), seconds=number(secs, 0)
            )
        )
    if spec.get("error"):
        st.error(spec["error"])

    dirs = [(a, exp_dir / a["key"]) for a in arms if (exp_dir / a["key"] / runs.CONFIG).exists()]
    if not dirs:
        st.caption(_("The first arm is loading."))
        return
    per_row = 5
    for i in range(0, len(dirs), per_row):
        cols = st.columns(per_row)
        for col, (a, d) in zip(cols, dirs[i : i + per_row], strict=False):
            q = (a.get("quality") or {}).get("swd")
            col.markdown(f"**{_(a['label'])}**")
            grid = d / runs.GRID
            if grid.exists():
                col.image(grid.read_bytes(), width="stretch", output_format="PNG")
            col.caption(
                status_label(a.get("status"))
                + (f", SWD×10³ {number(q, 1)}" if q is not None else "")
                + (f", {number(a['seconds'], 0)} s" if a.get("seconds") else "")
            )
            if a.get("error"):
                col.error(a["error"].splitlines()[0])

    smoothing = st.slider(_("Smoothing"), 0.0, 0.99, 0.6, 0.01, key="ex_smooth")
    series = {_(a["label"]): arm_series(str(d), metrics_size(d)) for a, d in dirs}
    c = st.columns(2)
    c[0].plotly_chart(compare.loss_overlay(series, smoothing), key="ex_loss")
    c[1].plotly_chart(compare.d_outputs_overlay(series, smoothing), key="ex_dout")

    rated = [(a, (a.get("quality") or {}).get("swd")) for a, _d in dirs]
    if any(q is not None for _a, q in rated):
        st.plotly_chart(
            compare.quality_figure([_(a["label"]) for a, _q in rated], [q for _a, q in rated]),
            key="ex_quality",
        )
        st.caption(
            _(
                "SWD×10³ of each arm's final generator against {n} real images of its own data "
                "(dcgan.metrics; Karras et al. 2018). Lower is closer. It ranks arms of one "
                "experiment; it is not comparable across datasets."
            ).format(n=spec.get("quality_n"))
        )

    if spec.get("probe"):
        probes = {_(a["label"]): ex.read_probes(d) for a, d in dirs}
        if any(probes.values()):
            st.plotly_chart(compare.dead_units_overlay(probes), key="ex_dead")
            rows = []
            arm_col, block_col, final_col, peak_col = _("arm"), _("block"), _("final"), _("peak")
            for label, p in probes.items():
                for block, (_s, v) in p.items():
                    rows.append(
                        {arm_col: label, block_col: block, final_col: v[-1], peak_col: max(v)}
                    )
            st.dataframe(
                pd.DataFrame(rows),
                hide_index=True,
                column_config={
                    final_col: st.column_config.NumberColumn(format="percent"),
                    peak_col: st.column_config.NumberColumn(format="percent"),
                },
            )
            st.caption(
                _(
                    "A unit (channel) of a D block is dead when its input to the activation is "
                    "≤ 0 at every position of every image of a fixed batch of 64 real images, "
                    "probed every 10 steps (dcgan.inside.dead_unit_fractions)."
                )
            )

    entry = ex.CATALOG.get(spec["name"])
    if entry is not None and entry.ranked:
        scored = [(a, d, q) for (a, d), (_a, q) in zip(dirs, rated, strict=True) if q is not None]
        fair = bool(scored) and all(a.get("baseline") is not None for a, _d, _q in scored)

        def excess(t) -> float:
            """SWD above the class's own real-vs-real floor (plain SWD without a floor)."""
            a, _d, q = t
            return q - a["baseline"] if fair else q

        ranked = sorted(scored, key=excess)
        if ranked:
            order = (
                _("best first, by the excess over real vs real")
                if fair
                else _("best first, by SWD")
            )
            st.markdown(
                _(
                    "**Classes by quality** ({order}). *real vs real*: the SWD between two "
                    "disjoint sets of that class's real images, what a perfect generator would "
                    "score; varied classes (T-shirts with prints) have a higher floor than "
                    "uniform ones (trousers)."
                ).format(order=order)
            )
            table = {
                _("rank"): range(1, len(ranked) + 1),
                _("class"): [_(a["label"]) for a, _d, _q in ranked],
                "SWD×10³": [round(q, 2) for _a, _d, q in ranked],
            }
            if fair:
                table[_("real vs real")] = [round(a["baseline"], 2) for a, _d, _q in ranked]
                table[_("excess")] = [round(excess(t), 2) for t in ranked]
            table[_("steps")] = [a.get("steps") for a, _d, _q in ranked]
            st.dataframe(pd.DataFrame(table), hide_index=True)
            cols = st.columns(min(5, len(ranked)))
            for i, (a, d, q) in enumerate(ranked):
                if (d / runs.GRID).exists():
                    cols[i % len(cols)].image(
                        (d / runs.GRID).read_bytes(),
                        caption=f"{i + 1}. {_(a['label'])} (SWD×10³ {number(q, 1)})",
                        output_format="PNG",
                    )
    st.caption(
        _(
            "Folder: `{folder}`. Each arm is a run folder; open them on the Compare runs page, "
            "or `python -m dcgan.experiments show {folder}`."
        ).format(folder=exp_dir)
    )


live = live_dir is not None and str(live_dir) == pick


@st.fragment(run_every=2 if live else None)
def results() -> None:
    """The chosen experiment, redrawn every 2 s while it runs."""
    show(Path(pick))


results()

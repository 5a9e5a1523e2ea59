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
from dcgan.data import FASHION_CLASSES
from dcgan.runs import JobBusyError
from ui import jobs, nav

nav.page_setup()
ss = st.session_state
st.html("<style>img {image-rendering: pixelated;}</style>")

st.title("Experiments")
st.caption(
    "Each experiment asks one question of the chapter or the paper. Its arms differ in one "
    "setting and share everything else (the classroom-cpu model at 32 px, the seed, the "
    "data), and run one after another on the server's one training slot. While an arm "
    "trains, the Train page shows it live and its Stop ends the experiment."
)

name = st.selectbox(
    "Experiment",
    list(ex.CATALOG),
    format_func=lambda n: ex.CATALOG[n].title,
    key="ex_name",
    persist_state="session",
)
c = st.columns([1, 3])
steps = c[0].number_input(
    "Steps per arm",
    min_value=1,
    max_value=100_000,
    value=ex.STEPS,
    step=100,
    key="ex_steps",
    help="The same for every arm. More steps: better samples, longer wait.",
)
classes = None
if ex.CATALOG[name].by_class:
    classes = c[1].multiselect(
        "Classes (one arm each)",
        list(range(10)),
        default=list(ex.DEFAULT_CLASSES),
        format_func=lambda i: f"{i}: {FASHION_CLASSES[i]}",
        key="ex_classes",
    )
try:
    exp = ex.experiment(
        name, steps=int(steps), classes=tuple(classes) if classes is not None else None
    )
    cfgs = exp.configs()
except ConfigError as e:
    st.error(f"Cannot plan this experiment: {e}")
    st.stop()

st.markdown(f"**The question.** {exp.question}")
st.markdown(f"**What to look for.** {exp.look_for}")
base = cfgs[0]
st.dataframe(
    pd.DataFrame(
        {
            "arm": [a.label for a in exp.arms],
            "changes": [", ".join(f"{k} = {v}" for k, v in a.overrides.items()) for a in exp.arms],
        }
    ),
    hide_index=True,
    width="stretch",
)
measured = ex.measured_eps(jobs.runs_dir())
if measured is not None:
    eps = measured[0]
    where = f"the training speed of this server's last experiment ({measured[1]})"
else:
    eps = ex.MEASURED_EPS
    where = (
        "the speed measured for this model on one busy core of the development machine "
        "(bf16); a free laptop core is usually faster"
    )
est = exp.estimate_s(eps)
st.info(
    f"**Total time: about {est / 60:.1f} minutes** for {len(exp.arms)} arms of "
    f"{int(steps):,} steps (batch {base.train.batch_size}, {base.model.image_size} px, "
    f"{base.data.source}). The estimate uses {eps:.0f} examples/sec, {where}."
)

b = st.columns([1, 1, 4])
if b[0].button("Start", type="primary", width="stretch", key="ex_start"):
    try:
        exp_dir = ex.start_experiment(
            name,
            jobs.runs_dir(),
            steps=int(steps),
            classes=tuple(classes) if classes is not None else None,
        )
    except JobBusyError as e:
        st.warning(
            f"Start refused: {e} The server has one training slot; an experiment waits for "
            "the job (or experiment) that holds it."
        )
    except ConfigError as e:
        st.error(f"Not started: {e}")
    else:
        ss.ex_shown = str(exp_dir)
        st.success(f"Started {exp_dir.name}: {len(exp.arms)} arms, about {est / 60:.1f} min.")

root = jobs.runs_dir()
live_dir = ex.live_experiment(root)
if b[1].button("Stop", width="stretch", key="ex_stop"):
    if live_dir is None:
        st.info("No experiment is running.")
    else:
        ex.stop_experiment(live_dir)
        st.info("Stopping: the arm now training stops after its step; no further arm starts.")

# ------------------------------------------------------------------ results

st.divider()
found = ex.list_experiments(root)
if not found:
    st.caption("No experiments in this runs folder yet; press Start.")
    st.stop()
options = [str(p) for p in found]
default = str(live_dir) if live_dir is not None else ss.get("ex_shown", options[0])
if ss.get("ex_pick") not in options or live_dir is not None:
    ss.ex_pick = default if default in options else options[0]
pick = st.selectbox(
    "Results of",
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
        st.warning(f"{exp_dir.name} has no readable experiment.json.")
        return
    status = spec.get("status")
    arms = spec["arms"]
    done = sum(a.get("status") in ex.ENDED for a in arms)
    st.subheader(spec["title"])
    if status in ex.LIVE:
        cur = spec.get("current") or 0
        arm = arms[cur]
        st_arm = runs.RunReader(exp_dir / arm["key"]).status()
        total = st_arm.get("total_steps") or 0
        frac = (done + (st_arm.get("step", 0) / total if total else 0)) / len(arms)
        st.progress(
            min(1.0, frac),
            text=f"Arm {cur + 1} of {len(arms)}: {arm['label']} — {st_arm.get('status')}, "
            f"step {st_arm.get('step', 0):,}/{total:,}",
        )
    else:
        secs = sum(a.get("seconds") or 0 for a in arms)
        st.caption(f"Status: **{status}**; {done} of {len(arms)} arms ran, {secs:.0f} s in all.")
    if spec.get("error"):
        st.error(spec["error"])

    dirs = [(a, exp_dir / a["key"]) for a in arms if (exp_dir / a["key"] / runs.CONFIG).exists()]
    if not dirs:
        st.caption("The first arm is loading.")
        return
    per_row = 5
    for i in range(0, len(dirs), per_row):
        cols = st.columns(per_row)
        for col, (a, d) in zip(cols, dirs[i : i + per_row], strict=False):
            q = (a.get("quality") or {}).get("swd")
            col.markdown(f"**{a['label']}**")
            grid = d / runs.GRID
            if grid.exists():
                col.image(grid.read_bytes(), width="stretch", output_format="PNG")
            col.caption(
                f"{a.get('status')}"
                + (f", SWD×10³ {q:.1f}" if q is not None else "")
                + (f", {a['seconds']:.0f} s" if a.get("seconds") else "")
            )
            if a.get("error"):
                col.error(a["error"].splitlines()[0])

    smoothing = st.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="ex_smooth")
    series = {a["label"]: arm_series(str(d), metrics_size(d)) for a, d in dirs}
    c = st.columns(2)
    c[0].plotly_chart(compare.loss_overlay(series, smoothing), key="ex_loss")
    c[1].plotly_chart(compare.d_outputs_overlay(series, smoothing), key="ex_dout")

    rated = [(a, (a.get("quality") or {}).get("swd")) for a, _ in dirs]
    if any(q is not None for _, q in rated):
        st.plotly_chart(
            compare.quality_figure([a["label"] for a, _ in rated], [q for _, q in rated]),
            key="ex_quality",
        )
        st.caption(
            f"SWD×10³ of each arm's final generator against {spec.get('quality_n')} real images "
            "of its own data (dcgan.metrics; Karras et al. 2018). Lower is closer. It ranks "
            "arms of one experiment; it is not comparable across datasets."
        )

    if spec.get("probe"):
        probes = {a["label"]: ex.read_probes(d) for a, d in dirs}
        if any(probes.values()):
            st.plotly_chart(compare.dead_units_overlay(probes), key="ex_dead")
            rows = []
            for label, p in probes.items():
                for block, (_s, v) in p.items():
                    rows.append({"arm": label, "block": block, "final": v[-1], "peak": max(v)})
            st.dataframe(
                pd.DataFrame(rows),
                hide_index=True,
                column_config={
                    "final": st.column_config.NumberColumn(format="percent"),
                    "peak": st.column_config.NumberColumn(format="percent"),
                },
            )
            st.caption(
                "A unit (channel) of a D block is dead when its input to the activation is "
                "≤ 0 at every position of every image of a fixed batch of 64 real images, "
                "probed every 10 steps (dcgan.inside.dead_unit_fractions)."
            )

    entry = ex.CATALOG.get(spec["name"])
    if entry is not None and entry.ranked:
        scored = [(a, d, q) for (a, d), (_, q) in zip(dirs, rated, strict=True) if q is not None]
        fair = bool(scored) and all(a.get("baseline") is not None for a, _, _ in scored)

        def excess(t) -> float:
            """SWD above the class's own real-vs-real floor (plain SWD without a floor)."""
            a, _, q = t
            return q - a["baseline"] if fair else q

        ranked = sorted(scored, key=excess)
        if ranked:
            st.markdown(
                "**Classes by quality** (best first"
                + (", by the excess over real vs real" if fair else ", by SWD")
                + "). *real vs real*: the SWD between two disjoint sets of that class's real "
                "images, what a perfect generator would score; varied classes (T-shirts with "
                "prints) have a higher floor than uniform ones (trousers)."
            )
            table = {
                "rank": range(1, len(ranked) + 1),
                "class": [a["label"] for a, _, _ in ranked],
                "SWD×10³": [round(q, 2) for _, _, q in ranked],
            }
            if fair:
                table["real vs real"] = [round(a["baseline"], 2) for a, _, _ in ranked]
                table["excess"] = [round(excess(t), 2) for t in ranked]
            table["steps"] = [a.get("steps") for a, _, _ in ranked]
            st.dataframe(pd.DataFrame(table), hide_index=True)
            cols = st.columns(min(5, len(ranked)))
            for i, (a, d, q) in enumerate(ranked):
                if (d / runs.GRID).exists():
                    cols[i % len(cols)].image(
                        (d / runs.GRID).read_bytes(),
                        caption=f"{i + 1}. {a['label']} (SWD×10³ {q:.1f})",
                        output_format="PNG",
                    )
    st.caption(
        f"Folder: `{exp_dir}`. Each arm is a run folder; open them on the Compare runs page, or "
        f"`python -m dcgan.experiments show {exp_dir}`."
    )


live = live_dir is not None and str(live_dir) == pick


@st.fragment(run_every=2 if live else None)
def results() -> None:
    """The chosen experiment, redrawn every 2 s while it runs."""
    show(Path(pick))


results()

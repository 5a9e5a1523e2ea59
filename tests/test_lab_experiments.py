"""Experiments and Compare runs: the engine (dcgan.experiments, dcgan.compare) on tiny arms,
both pages under AppTest, and one real-browser run of the shortest experiment."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from dcgan import compare, runs
from dcgan import experiments as ex
from dcgan.config import ConfigError, preset
from dcgan.runs import JobBusyError, handle
from loadtest.net import wait_for
from tests import helpers

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds per script run: a page may score two generators on a busy 2-core box
MY_PAGES = (
    ("pages/experiments.py", "Experiments", ":material/science:"),
    ("pages/compare.py", "Compare runs", ":material/compare_arrows:"),
)
# a few seconds per arm on one core: narrow nets, a small batch, 64 images, fp32 everywhere
TINY = {
    "train.batch_size": 8,
    "train.n_samples": 16,
    "data.limit": 64,
    "train.precision": "fp32",
    "model.ngf": 8,
    "model.ndf": 8,
}
QN = 16  # images per set for the tests' SWD: enough for a number, fast


def run_in_process(name: str, root: Path, seen: list | None = None, **kw) -> Path:
    """Run an experiment here, holding root's lock as the CLI does; returns its folder."""
    exp = ex.experiment(name, base=TINY, quality_n=QN, **kw)
    return ex.run_here(exp, root, on_arm=None if seen is None else seen.append)


@pytest.fixture(scope="module")
def relu_experiment(tmp_path_factory) -> Path:
    """A finished tiny "relu" experiment, run in this process; the lock's run is recorded at
    every probe, so tests can check what the Train page would have shown."""
    root = tmp_path_factory.mktemp("exp") / "runs"
    locked: list[str] = []

    class Recording(ex.DeadUnitProbe):
        def __call__(self, tr):
            locked.append((runs.read_lock(root) or {}).get("run"))
            super().__call__(tr)

    entry = ex.CATALOG["relu"]
    ex.CATALOG["relu"] = dataclasses.replace(entry, probe=Recording)
    try:
        exp_dir = run_in_process("relu", root, steps=12)
    finally:
        ex.CATALOG["relu"] = entry
    (exp_dir / "locked.json").write_text(json.dumps(locked))
    return exp_dir


# ---------------------------------------------------------------------- engine


def test_a_tiny_relu_experiment_writes_arm_folders_quality_and_dead_unit_series(relu_experiment):
    exp_dir = relu_experiment
    spec = json.loads((exp_dir / ex.EXPERIMENT).read_text())
    assert spec["status"] == "finished"
    assert [a["key"] for a in spec["arms"]] == ["leaky-relu", "relu"]
    assert [a["status"] for a in spec["arms"]] == ["finished", "finished"]
    acts = []
    for a in spec["arms"]:
        d = exp_dir / a["key"]
        cfg = json.loads((d / runs.CONFIG).read_text())
        acts.append(cfg["model"]["d_activation"])
        assert cfg["train"]["seed"] == 0 and cfg["train"]["steps"] == 12
        assert (d / runs.GRID).exists() and (d / runs.GENERATOR).exists()
        assert runs.read_json(d / runs.STATUS)["step"] == 12
        q = a["quality"]
        assert q["swd"] > 0 and q["n_used"] == QN and q["step"] == 12
        assert runs.read_json(d / compare.QUALITY)["swd"] == q["swd"]  # cached in the folder
        # probes at step 1, every PROBE_EVERY steps and at the end, one key per D block
        probes = ex.read_probes(d)
        assert set(probes) == {"block0", "block1", "block2"}
        assert probes["block0"][0] == [1, 10, 12]
        assert all(0.0 <= v <= 1.0 for _, vs in probes.values() for v in vs)
        assert a["dead_units"]["block1"]["values"] == probes["block1"][1]
    assert acts == ["leaky_relu", "relu"]


def test_while_an_arm_trains_the_lock_names_that_arm(relu_experiment):
    locked = json.loads((relu_experiment / "locked.json").read_text())
    arms = [str(relu_experiment / "leaky-relu"), str(relu_experiment / "relu")]
    assert [k for k, _ in itertools.groupby(locked)] == arms  # the first arm, then the second


def test_arms_are_listed_as_runs_only_when_asked_for_nested_folders(relu_experiment):
    root = relu_experiment.parent
    assert runs.list_runs(root) == []
    nested = runs.list_runs(root, nested=True)
    assert sorted(p.name for p in nested) == ["leaky-relu", "relu"]
    assert ex.list_experiments(root) == [relu_experiment]
    eps, name = ex.measured_eps(root)
    assert eps > 0 and name == relu_experiment.name
    assert ex.measured_eps(root / "empty") is None
    assert handle.RunHandle(nested[0]).status()["status"] == "finished"


def test_cli_show_prints_each_arms_quality_and_dead_units(relu_experiment, capsys):
    assert ex.main(["show", str(relu_experiment)]) == 0
    out = capsys.readouterr().out
    assert "LeakyReLU (α 0.2)" in out and "ReLU" in out
    assert out.count("SWD x1e3") == 2 and "block2" in out


def test_relu_leaves_forced_dead_units_dead_while_leaky_relu_revives_them():
    """The chapter's claim, in the probe's own terms: a unit whose input is below zero for
    every image stays dead under ReLU (no gradient reaches its weights) and comes back under
    LeakyReLU, whose slope still passes 0.2 of the gradient."""
    from torch import nn

    from dcgan.data import load
    from dcgan.trainer import Trainer

    data = load("shapes", 32, limit=256)
    out = {}
    for act in ("relu", "leaky_relu"):
        cfg = preset("classroom-cpu").replace(
            **{
                "model.d_activation": act,
                "model.ngf": 8,
                "model.ndf": 8,
                "train.batch_size": 16,
                "train.precision": "fp32",
                "train.lr": 0.01,
                "train.ema_decay": 0.0,
            }
        )
        tr = Trainer(cfg, data)
        bn = next(m for m in tr.D[1].modules() if isinstance(m, nn.BatchNorm2d))
        half = bn.num_features // 2
        with torch.no_grad():  # half of block1's units output -0.05 whatever the image
            bn.weight[:half] = 0.0
            bn.bias[:half] = -0.05
        probe = ex.DeadUnitProbe(Path(os.devnull).parent, every=1)
        probe.path = Path(os.devnull)
        probe(tr)  # step 0 counts as a probe step only through `every`
        for _ in range(40):
            tr.step()
            probe(tr)
        out[act] = (probe.rows[0]["block1"], probe.rows[-1]["block1"])
        if act == "relu":  # not a single gradient reached the forced units
            assert torch.equal(bn.weight[:half], torch.zeros(half))
    assert out["relu"][0] >= 0.5 and out["leaky_relu"][0] >= 0.5  # both start half dead
    assert out["relu"][1] >= 0.5  # ReLU: still dead
    assert out["leaky_relu"][1] < out["relu"][1]  # LeakyReLU: the leaked gradient revives


def test_unknown_experiment_or_classes_are_refused_with_the_choices():
    with pytest.raises(ConfigError, match="relu, fashion-classes, bn-first, lr"):
        ex.experiment("dropout")
    with pytest.raises(ConfigError, match="0 to 9"):
        ex.experiment("fashion-classes", classes=(3, 12))
    with pytest.raises(ConfigError, match="at least one"):
        ex.experiment("fashion-classes", classes=())
    assert ex.main(["run", "fashion-classes", "--classes", "a,b"]) == 2


def test_a_new_experiment_is_one_catalog_entry(tmp_path, monkeypatch, capsys):
    """Adding an experiment touches one place, CATALOG: the plan, the runner, its hook and the
    CLI's list read the entry; nothing names it."""
    scored: list[str] = []
    toy = ex.Entry(
        "toy-beta1",
        "Toy: Adam's β1",
        "Does β1 matter at this scale?",
        "Compare the loss curves.",
        arms=(ex.Arm("beta1-0.9", "β1 0.9", {"train.beta1": 0.9}),),  # one arm: quick
        after_arm=lambda arm, arm_dir, n: scored.append(arm["key"]),
    )
    monkeypatch.setitem(ex.CATALOG, toy.name, toy)
    assert ex.main(["list"]) == 0 and "Toy: Adam's β1" in capsys.readouterr().out
    plan = ex.experiment(toy.name, steps=2, base=TINY, quality_n=QN)
    spec = ex.read_experiment(ex.run_here(plan, tmp_path / "runs"))
    assert spec["status"] == ex.ExperimentStatus.FINISHED
    assert [a["status"] for a in spec["arms"]] == ["finished"]
    assert scored == ["beta1-0.9"], "the after_arm hook ran once per trained arm"
    assert all(a["quality"]["swd"] > 0 for a in spec["arms"])


def test_every_experiment_states_its_time_and_more_steps_take_longer():
    for e in ex.all_experiments():
        assert e.question and e.look_for and len(e.arms) >= 2
        longer = ex.experiment(e.name, steps=2 * ex.STEPS)
        assert longer.estimate_s() > e.estimate_s() > 0
        assert len({c.train.seed for c in e.configs()}) == 1  # the same seed in every arm
        assert len({c.data.source for c in e.configs()}) == 1


def test_an_experiment_stopped_through_the_live_arm_runs_no_further_arm(tmp_path):
    """Start in its own process, paused before its first step; the handle the Train page
    holds (handle.current_run) is the first arm; its Stop ends the whole experiment."""
    root = tmp_path / "runs"
    exp_dir = ex.start_experiment(
        "bn-first",
        root,
        steps=500,
        base=TINY,
        quality_n=QN,
        paused=True,
        env={"OMP_NUM_THREADS": "1"},
    )
    h = handle.current_run(root)
    assert h.dir == exp_dir / "bn-first"
    assert ex.live_experiment(root) == exp_dir
    st_ = h.wait_for(lambda s: s.get("status") == "paused", timeout=120)
    assert st_["status"] == "paused", st_
    with pytest.raises(JobBusyError):
        handle.start_job(preset("classroom-cpu"), root)
    with pytest.raises(JobBusyError):
        ex.start_experiment("lr", root)
    h.stop()
    spec = wait_for(
        lambda: (s := ex.read_experiment(exp_dir))["status"] not in ex.LIVE and s,
        120,
        "the experiment to end",
    )
    assert spec["status"] == "stopped"
    assert [a["status"] for a in spec["arms"]] == ["stopped", "waiting"]
    assert not (exp_dir / "no-bn-first").exists()
    wait_for(lambda: runs.read_lock(root) is None, 30, "the lock to be released")


def test_quality_is_computed_once_per_snapshot(relu_experiment, monkeypatch):
    from dcgan import metrics

    d = relu_experiment / "relu"
    first = compare.quality(d, n=QN)

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(metrics, "swd", boom)
    assert compare.quality(d, n=QN) == first  # cached: swd is not called
    monkeypatch.undo()
    snap = d / runs.GENERATOR
    st_ = snap.stat()
    os.utime(snap, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))
    again = compare.quality(d, n=QN)
    assert again["mtime_ns"] == snap.stat().st_mtime_ns != first["mtime_ns"]


def test_frame_at_takes_the_newest_frame_at_or_before_the_step():
    frames = [(1, Path("a")), (5, Path("b")), (10, Path("c"))]
    assert compare.frame_at(frames, 7) == (5, Path("b"))
    assert compare.frame_at(frames, 10) == (10, Path("c"))
    assert compare.frame_at(frames, 0) == (1, Path("a"))  # none yet: the first frame
    assert compare.frame_at([], 3) is None


# ---------------------------------------------------------------------- pages (AppTest)


@pytest.fixture
def app_server(tmp_path, monkeypatch):
    """A fresh server: its own runs folder, no shipped generators, these pages listed."""
    with helpers.page_server(tmp_path, monkeypatch, MY_PAGES) as root:
        yield root


def open_page(name: str) -> AppTest:
    """Run app.py, then switch to pages/<name>.py, as a visitor clicking the link would."""
    return helpers.open_page(name, TIMEOUT)


def text_of(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [w.value for w in at.warning]
    return " ".join(parts)


def chart_titles(at: AppTest) -> list[str]:
    out = []
    for el in at.get("plotly_chart"):
        fig = json.loads(el.proto.spec)
        out.append(((fig.get("layout", {}).get("title") or {}).get("text")) or "")
    return out


def test_experiments_page_states_question_arms_and_total_time_up_front(app_server):
    at = open_page("experiments")
    text = text_of(at)
    assert "ReLU" in text and "What to look for" in text and "Total time: about" in text
    assert list(at.dataframe[0].value["arm"]) == ["LeakyReLU (α 0.2)", "ReLU"]
    at.number_input(key="ex_steps").set_value(2 * ex.STEPS).run()
    longer = ex.experiment("relu", steps=2 * ex.STEPS).estimate_s() / 60
    assert f"Total time: about {longer:.1f} minutes" in text_of(at)
    at.selectbox(key="ex_name").set_value("fashion-classes").run()
    assert not at.exception
    at.multiselect(key="ex_classes").set_value([1, 8]).run()
    assert list(at.dataframe[0].value["arm"]) == ["Trouser", "Bag"]
    assert "No experiments in this runs folder yet" in text_of(at)


def test_experiments_page_refuses_start_while_a_job_holds_the_slot(app_server):
    with runs.JobSlot(app_server, app_server / "someone-elses-run"):
        at = open_page("experiments")
        at.button(key="ex_start").click().run()
        assert any("Start refused" in w.value for w in at.warning)
        assert ex.list_experiments(app_server) == []


def test_experiments_page_shows_a_finished_relu_experiment_side_by_side(
    app_server, relu_experiment
):
    shutil.copytree(relu_experiment, app_server / relu_experiment.name)
    at = open_page("experiments")
    assert len(at.image) >= 2  # one final grid per arm
    titles = chart_titles(at)
    for t in ("Losses", "What D says", "Quality", "Dead units"):
        assert any(t in x for x in titles), titles
    dead = [d.value for d in at.dataframe if "block" in d.value.columns]
    assert dead and set(dead[0]["arm"]) == {"LeakyReLU (α 0.2)", "ReLU"}
    assert "Status: **finished**" in text_of(at)
    # the next estimate uses the speed this server just measured, not the shipped constant
    assert "the training speed of this server's last experiment" in text_of(at)


@pytest.mark.shared
def test_fashion_classes_are_ranked_by_quality_with_a_grid_each(app_server, shared_data):
    monkey = pytest.MonkeyPatch()
    monkey.setenv("DCGAN_FASHION_MNIST_DIR", str(shared_data / "fashion-mnist"))
    try:
        exp_dir = run_in_process("fashion-classes", app_server, steps=4, classes=(1, 8))
    finally:
        monkey.undo()
    spec = ex.read_experiment(exp_dir)
    assert [a["status"] for a in spec["arms"]] == ["finished", "finished"]
    for a in spec["arms"]:  # each arm trained on its class only
        cfg = runs.read_json(exp_dir / a["key"] / runs.CONFIG)
        assert cfg["data"]["classes"] == a["overrides"]["data.classes"]
        # two real sets of the class are closer than a 4-step generator is to either
        assert 0 < a["baseline"] < a["quality"]["swd"]
    at = open_page("experiments")
    table = next(d.value for d in at.dataframe if "class" in d.value.columns)
    excess = {a["label"]: a["quality"]["swd"] - a["baseline"] for a in spec["arms"]}
    assert list(table["class"]) == sorted(excess, key=excess.get)  # fair to varied classes
    assert list(table["excess"]) == [round(excess[c], 2) for c in table["class"]]
    assert any("1. " in (im.proto.imgs[0].caption or "") for im in at.image)


def test_compare_page_overlays_runs_and_shows_frames_at_one_step(app_server, relu_experiment):
    shutil.copytree(relu_experiment, app_server / relu_experiment.name)
    at = open_page("compare")
    assert len(at.multiselect(key="cmp_runs").value) == 2
    titles = chart_titles(at)
    assert any("Losses" in t for t in titles) and any("What D says" in t for t in titles)
    loss = next(
        json.loads(el.proto.spec)
        for el in at.get("plotly_chart")
        if "Losses" in json.loads(el.proto.spec)["layout"]["title"]["text"]
    )
    assert len(loss["data"]) == 4  # loss_D and loss_G of each run
    values = [m.value for m in at.metric if m.label.endswith(("relu", "leaky-relu"))]
    assert len(values) == 2 and all(v != "—" for v in values)
    slider = at.select_slider(key="cmp_step")
    first = slider.options[0]
    slider.set_value(first).run()
    assert any(f"step {int(first):,}" in c.value for c in at.caption)


def test_compare_page_asks_for_two_runs(app_server):
    at = open_page("compare")
    assert "at least two runs" in text_of(at)


# ---------------------------------------------------------------------- a real browser


@pytest.mark.browser
@pytest.mark.slow
def test_a_teacher_runs_the_shortest_experiment_in_chromium(live_app):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from loadtest.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.helpers import settle
    from ui import nav

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    assert "pages/experiments.py" in {p[0] for p in nav.PAGES}, "register the page in PAGES"
    srv = live_app
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{srv.url}/experiments")
        settle(page)
        assert page.get_by_text("Total time: about").count() == 1
        steps = page.get_by_label("Steps per arm", exact=True)
        steps.fill("2")  # a probe at step 1 and at the end: every chart has its points
        steps.press("Enter")
        settle(page)
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_text("Started").first.wait_for(timeout=60_000)
        exp_dir = wait_for(lambda: ex.list_experiments(srv.runs), 30, "the folder")[0]
        wait_for(
            lambda: (ex.read_experiment(exp_dir) or {}).get("status") == "finished",
            300,
            "both arms to finish",
            poll=0.5,
        )
        page.get_by_text("Status: finished").wait_for(timeout=60_000)
        page.get_by_text("Status: finished").scroll_into_view_if_needed()
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert page.locator('[data-testid="stImage"]').count() >= 2
        shots = ROOT / "artifacts" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "experiments.png"), full_page=True)
        b.close()

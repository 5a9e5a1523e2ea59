"""Every Streamlit page, through streamlit.testing.v1.AppTest: it renders without an exception,
and its key widgets change what it shows. The Train tests run a real (short) job process."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from dcgan import checkpoint as ckpt
from dcgan.config import preset
from dcgan.models import build
from tests import helpers
from ui import state

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds per script run; generous for a busy 2-core CI machine


@pytest.fixture(autouse=True)
def fresh_server(tmp_path, monkeypatch):
    """Each test gets fresh caches, its own runs folder and no shipped generators (tests that
    want one ship their own); the job a test started is stopped afterwards."""
    from dcgan import pretrained

    monkeypatch.setenv("DCGAN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "no-shipped-generators")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    from dcgan.runs.handle import stop_all

    stop_all(tmp_path / "runs")
    st.cache_resource.clear()


def open_page(name: str) -> AppTest:
    """helpers.open_page with this file's timeout."""
    return helpers.open_page(name, TIMEOUT)


def charts(at: AppTest) -> list[dict]:
    """The plotly figures on the page, as dicts."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def chart(at: AppTest, title: str) -> dict:
    """The figure whose title contains `title`."""
    for fig in charts(at):
        if title in (fig.get("layout", {}).get("title", {}) or {}).get("text", ""):
            return fig
    raise AssertionError(
        f"no chart titled {title!r}: {[c['layout'].get('title') for c in charts(at)]}"
    )


def as_text(obj) -> str:
    """JSON with the unicode left readable (×, ‖), for substring checks."""
    return json.dumps(obj, ensure_ascii=False)


def n_points(trace: dict, axis: str = "x") -> int:
    """Length of a trace's data, whether a plain list or plotly's base64 typed array."""
    v = trace[axis]
    if isinstance(v, dict):
        return len(base64.b64decode(v["bdata"])) // np.dtype(v["dtype"]).itemsize
    return len(v)


def image_urls(at: AppTest) -> list[str]:
    return [u for im in at.image for u in im.value]


# ---------------------------------------------------------------------- Home


def test_home_draws_both_networks_with_real_shapes_and_links_every_page():
    at = open_page("home")
    g = as_text(chart(at, "Generator"))
    d = as_text(chart(at, "Discriminator"))
    # classroom-cpu: nz -> (ngf*4)x4x4 -> ... -> 3x32x32; D back down to one logit
    m = preset("classroom-cpu").model
    assert f"{m.nz}×1×1" in g and f"{m.ngf * 4}×4×4" in g and "3×32×32" in g
    assert "3×32×32" in d and "1×1×1" in d
    assert [m.value for m in at.metric][0] in ("cpu", "cuda", "mps")
    links = {p.proto.page for p in at.get("page_link")}
    for page in ("data", "train", "activations", "shapes", "latent", "gan_basics"):
        assert any(page in link for link in links), page


# ---------------------------------------------------------------------- Data


def test_data_shows_the_first_20_shapes_and_size_changes_resolution():
    at = open_page("data")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "4,096" and metrics["Resolution"] == "32×32"
    assert metrics["Files skipped"] == "0"
    first = image_urls(at)
    at.selectbox(key="data_size").set_value(64).run()
    assert {m.label: m.value for m in at.metric}["Resolution"] == "64×64"
    assert image_urls(at) != first


def png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 12), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_data_folder_counts_skipped_files_with_reasons(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_IMAGE_ROOTS", str(tmp_path))
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, c in enumerate(["red", "green", "blue"]):
        (folder / f"{i}.png").write_bytes(png(c))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "notes.txt").write_text("hello")
    at = open_page("data")
    at.radio(key="data_choice").set_value("folder").run()
    at.text_input(key="data_folder").set_value(str(folder)).run()
    at.button[0].click().run()  # "Load ..."
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "3" and metrics["Files skipped"] == "2"
    reasons = at.dataframe[0].value
    assert len(reasons) == 2 and "not an image file" in set(reasons["reason"])
    assert any("corrupt" in r for r in reasons["reason"])


def test_data_names_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_IMAGE_ROOTS", str(tmp_path))
    at = open_page("data")
    at.radio(key="data_choice").set_value("folder").run()
    at.text_input(key="data_folder").set_value(str(tmp_path / "no-such-folder")).run()
    at.button[0].click().run()
    assert "no such file or folder" in at.error[0].value


def test_data_refuses_a_folder_outside_the_allowed_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_IMAGE_ROOTS", str(tmp_path))
    at = open_page("data")
    at.radio(key="data_choice").set_value("folder").run()
    at.text_input(key="data_folder").set_value("/etc").run()
    assert "outside the folders this app may read" in at.error[0].value
    assert not at.button or "Load" not in at.button[0].label


def test_a_dataset_is_one_registry_entry_that_every_list_offers(data_dir, monkeypatch):
    """docs/ARCHITECTURE.md promises a new dataset is one Source entry in dcgan.data.SOURCES:
    this adds a toy one there and nowhere else, and the loader, its cache, the class filter,
    the Data page, the Train page and the Space's live sources all offer it."""
    import torch

    from dcgan import data, live
    from dcgan.data import ImageSet, Source

    def read(where, size, progress):
        colours = torch.tensor([[255, 0, 0], [0, 0, 255]], dtype=torch.uint8)
        images = colours.repeat(12, 1)[:, :, None, None].expand(-1, -1, size, size)
        return ImageSet(
            images=images.contiguous(),
            source="toy",
            names=[f"toy_{i}" for i in range(24)],
            labels=torch.arange(24) % 2,
            class_names=["red", "blue"],
        )

    toy = Source(
        "toy",
        "Toy squares",
        True,
        "Red and blue squares, made here.",
        locate=lambda progress: "toy",
        read=read,
        classes=("red", "blue"),
        in_space=lambda: True,
    )
    monkeypatch.setitem(data.SOURCES, "toy", toy)

    blue = data.load("toy", 16, classes=(1,))
    assert len(blue) == 12 and blue.images[:, 2].eq(255).all() and not blue.from_cache
    assert data.load("toy", 16).from_cache, "the second load reads the decoded cache"
    assert live.sources()["toy"] == "Toy squares"

    at = open_page("data")
    at.radio(key="data_choice").set_value("toy").run()
    assert "Red and blue squares, made here." in [c.value for c in at.caption]
    assert at.multiselect(key="data_classes").options == ["red", "blue"]
    next(b for b in at.button if b.label == "Load toy").click().run()
    assert {m.label: m.value for m in at.metric}["Images"] == "24"
    next(b for b in at.button if b.label == "Train on this dataset").click().run()
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="tr_source").value == "toy"
    assert at.multiselect(key="tr_classes").options == ["red", "blue"]


# ---------------------------------------------------------------------- Train


def test_train_defaults_to_classroom_cpu_on_shapes_with_no_job():
    at = open_page("train")
    assert at.selectbox(key="tr_preset").value == "classroom-cpu"
    assert at.selectbox(key="tr_source").value == "shapes"
    assert at.number_input(key="tr_lr").value == pytest.approx(preset("classroom-cpu").train.lr)
    assert any("No training job yet" in i.value for i in at.info)
    at.selectbox(key="tr_preset").set_value("d2l").run()
    assert at.number_input(key="tr_lr").value == pytest.approx(0.005)
    assert at.number_input(key="tr_batch").value == 256


def test_train_runs_one_shared_job_that_a_second_session_cannot_restart(tmp_path):
    from dcgan import runs
    from ui import jobs

    teacher = open_page("train")
    teacher.number_input(key="tr_batch").set_value(32)
    teacher.radio(key="tr_unit").set_value("steps")
    teacher.number_input(key="tr_len").set_value(100_000).run()
    teacher.button[0].click().run()  # Start
    assert any("classroom-cpu on shapes, batch 32" in s.value for s in teacher.success)
    job = jobs.current_job()
    assert job is not None and job.config().train.batch_size == 32
    assert job.pid != os.getpid(), "the job trains in its own process"
    # two grids: step 1's, then one sample_every steps and sample_min_s seconds later
    job.wait_for(lambda s: len(runs.timeline(job.dir)) >= 2, 180)
    assert len(runs.timeline(job.dir)) >= 2

    student = open_page("train")  # another browser session: same job, Start refused
    assert student.metric[0].value in ("running", "loading")
    student.button[0].click().run()
    assert any("Start refused" in w.value for w in student.warning)
    assert jobs.current_job() == job

    student.button[1].click().run()  # Pause, from the other session
    assert job.wait_for(lambda s: s["status"] == "paused", 30)["status"] == "paused"
    student.button[2].click().run()  # Resume
    assert job.wait_for(lambda s: s["status"] == "running", 30)["status"] == "running"
    teacher.button[3].click().run()  # Stop
    assert job.wait(60) and job.status()["status"] == "stopped"

    jobs.shared_run(str(job.dir)).checked = 0.0  # read the folder now, not 0.4 s from now
    teacher.run()
    reader = runs.RunReader(job.dir)
    reader.update()
    loss = chart(teacher, "Losses")
    assert n_points(loss["data"][-1]) == len(reader.points("loss_D")[0]) >= 30
    assert "D(x)" in as_text(chart(teacher, "What D says"))
    assert chart(teacher, "Gradient norms") and chart(teacher, "Throughput")
    assert image_urls(teacher), "the live sample grid is drawn"
    steps = [s for s, _ in reader.timeline()]
    slider = teacher.select_slider(key="tr_frame")
    assert list(slider.options) == [str(s) for s in steps] and len(steps) >= 2
    shown = image_urls(teacher)
    slider.set_value(steps[0]).run()
    assert image_urls(teacher) != shown, "scrubbing the timeline shows another frame"
    alerts = " ".join(m.value for m in [*teacher.success, *teacher.info, *teacher.warning])
    for hint in jobs.shared_run(str(job.dir)).hints(job.config().to_dict(), 32):
        assert hint.title in alerts  # whatever the engine concludes is what the page says
    assert any("GIF" in b.label for b in teacher.get("download_button"))

    latent = open_page("latent")  # the job's weights are offered to the Latent page
    picker = latent.selectbox(key="gen_choice")
    assert picker.value == f"Training job: {job.dir.name}"
    assert "the training job at step" in latent.caption[0].value


def test_train_save_writes_a_checkpoint_that_is_listed(tmp_path):
    from ui import jobs

    at = open_page("train")
    at.radio(key="tr_unit").set_value("steps")
    at.number_input(key="tr_len").set_value(100_000)
    at.number_input(key="tr_batch").set_value(32).run()
    at.button[0].click().run()
    job = jobs.current_job()
    job.wait_for(lambda s: s.get("step", 0) >= 5, 180)
    save = next(b for b in at.button if b.label == "Save a checkpoint now")
    save.click().run()
    assert any("resumable checkpoint" in s.value for s in at.success)
    saved = job.wait_for(lambda s: any(e["kind"] == "saved" for e in job.events()), 60)
    assert saved["status"] == "running"
    path = Path(next(e["path"] for e in job.events() if e["kind"] == "saved"))
    assert ckpt.load(path)["step"] >= 5
    at.run()
    assert path in jobs.saved_checkpoints()
    assert any(b.label == "Download" for b in at.get("download_button"))
    job.stop()
    assert job.wait(60)
    at.run()
    next(b for b in at.button if b.label == "Save a checkpoint now").click().run()
    assert any("final checkpoint" in i.value for i in at.info), "an ended job points at last.pt"


def test_train_upload_refuses_a_bad_file_and_accepts_a_generator(tmp_path):
    at = open_page("train")
    at.file_uploader(key="ckpt_upload").set_value(("evil.pt", b"not a checkpoint", "x")).run()
    assert any("refused" in e.value for e in at.error)

    cfg = preset("classroom-cpu").model
    G, _ = build(cfg, seed=3)
    path = ckpt.export_generator(G, cfg, tmp_path / "g.safetensors", meta={"step": 7})
    at.file_uploader(key="ckpt_upload").set_value(("g.safetensors", path.read_bytes(), "x")).run()
    assert not at.error
    assert any("32×32 generator, nz=100" in s.value and "step 7" in s.value for s in at.success)
    assert at.session_state[state.UPLOADED_GENERATORS]


# ---------------------------------------------------------------------- Activations


def test_activations_draws_chosen_alphas_and_dead_units_depend_on_alpha():
    at = open_page("activations")
    f = chart(at, "LeakyReLU(x)")
    assert len(f["data"]) == 6  # the chapter's six alphas; D's 0.2 among them, drawn bold
    assert any("(D now)" in t["name"] for t in f["data"])
    at.multiselect(key="act_alphas").set_value([0.0, 0.5]).run()
    assert len(chart(at, "LeakyReLU(x)")["data"]) == 3  # two picked plus D's current 0.2

    at.slider[0].set_value(-3.0).run()  # bias shift: most units negative for every input
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Dead units (zero gradient always)"] != "0%"
    at.slider(key="act_demo_alpha").set_value(0.2).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Dead units (zero gradient always)"] == "0%"
    assert metrics["Units negative for every input"] != "0%"


# ---------------------------------------------------------------------- Shapes


def test_shapes_calculators_follow_their_inputs_and_tables_check_out():
    at = open_page("shapes")
    out = [m.value for m in at.metric if m.label == "Output size"]
    assert out == ["32", "8"]  # the chapter's G_block doubles 16, D_block halves it
    at.number_input(key="tc_n").set_value(4).run()
    assert [m.value for m in at.metric if m.label == "Output size"][0] == "8"
    assert "2*(4-1) + 4 - 2*1 = 8" in " ".join(c.value for c in at.code)
    at.number_input(key="cv_p").set_value(0).run()
    at.number_input(key="cv_k").set_value(40).run()
    assert any("larger than the padded input" in e.value for e in at.error)

    assert "8x8 before the crop" in chart(at, "before the crop")["layout"]["title"]["text"]
    at.slider(key="sc_s").set_value(5).run()
    assert "receive none" in " ".join(m.value for m in at.markdown)
    g, d = at.dataframe[0].value, at.dataframe[1].value
    assert set(g["check"]) == {"✓"} and set(d["check"]) == {"✓"}
    assert g["output (N, C, H, W)"].iloc[-1] == "(1, 3, 32, 32)"
    at.selectbox[0].set_value(64).run()
    assert at.dataframe[0].value["output (N, C, H, W)"].iloc[-1] == "(1, 3, 64, 64)"


# ---------------------------------------------------------------------- Latent space


def test_latent_page_works_untrained_and_its_sliders_change_the_images():
    at = open_page("latent")
    assert at.selectbox(key="gen_choice").value == "Untrained (random weights)"
    assert any("untrained" in i.value or "random weights" in i.value for i in at.info)
    norms = chart(at, "")  # the ||z|| plot: slerp keeps the norm, lerp dips in the middle
    by_name = {t["name"]: t for t in norms["data"]}
    assert set(by_name) == {"lerp", "slerp"}
    assert not at.multiselect  # only the open tab runs: arithmetic's widgets wait for theirs
    before = image_urls(at)
    at.number_input(key="li_b").set_value(7).run()
    after = image_urls(at)
    assert after != before
    at.slider(key="li_t").set_value(0.0).run()
    assert image_urls(at) != after

    at.query_params["latent_tab"] = "Vector arithmetic"  # a link to that tab opens it
    at.run()
    assert not at.exception and not at.get("plotly_chart")
    at.multiselect(key="va_A").set_value([]).run()
    assert any("Each group needs" in w.value for w in at.warning)
    at.multiselect(key="va_A").set_value([0, 1, 2]).run()
    shown = image_urls(at)
    at.slider(key="va_cb").set_value(0.0).run()
    assert image_urls(at) != shown

    at.query_params["latent_tab"] = "Random walk"
    at.run()
    still = image_urls(at)  # a still of the walks until Animate is asked for
    assert still and not at.get("download_button")
    at.toggle(key="rw_play").set_value(True).run()
    gif = image_urls(at)
    assert gif != still and any(b.label == "Download the GIF" for b in at.get("download_button"))
    at.slider(key="rw_frames").set_value(16).run()
    assert not at.exception and image_urls(at) != gif


def test_latent_page_offers_saved_generators_and_loads_them(tmp_path):
    runs = tmp_path / "runs"  # DCGAN_RUNS_DIR, set by the fixture
    cfg = preset("classroom-cpu").model
    ckpt.export_generator(build(cfg, seed=1)[0], cfg, runs / "r1" / "g.safetensors")
    at = open_page("latent")
    picker = at.selectbox(key="gen_choice")
    assert "Saved: r1/g.safetensors" in picker.options
    # nothing shipped and no job: the newest saved generator is the default
    assert picker.value == "Saved: r1/g.safetensors"
    assert "g.safetensors" in at.caption[0].value and not at.info
    saved = image_urls(at)
    picker.set_value("Untrained (random weights)").run()
    assert not at.exception and image_urls(at) != saved


# ---------------------------------------------------------------------- GAN basics


def test_gan_basics_trains_live_and_g_moves_onto_the_data():
    at = open_page("gan_basics")
    f = chart(at, "Epoch 0")
    assert [t["name"] for t in f["data"][1:]] == ["real", "generated"]
    at.slider(key="gb_epochs").set_value(6).run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    losses = chart(at, "Losses per example")
    assert n_points(losses["data"][0]) == 6
    assert at.slider(key="gb_show").value == 6
    table = " ".join(m.value for m in at.markdown)
    assert "generated (epoch 6)" in table
    frames = at.session_state["gb_frames"][1]
    real_mean = frames[0].real.mean(0)
    gap = [np.linalg.norm(f.fake.mean(0) - real_mean) for f in (frames[0], frames[-1])]
    assert gap[1] < 0.7 * gap[0], f"G's cloud moves towards the data: {gap}"
    at.slider(key="gb_show").set_value(0).run()
    assert "Epoch 0" in as_text(charts(at)[0]["layout"]["title"])


def test_a_shipped_generator_loads_on_train_and_is_the_latent_default(tmp_path, monkeypatch):
    from dcgan import pretrained

    shipped = tmp_path / "shipped"
    cfg = preset("classroom-cpu").model
    ckpt.export_generator(
        build(cfg, seed=2)[0], cfg, shipped / "anime-faces.safetensors", meta={"step": 4000}
    )
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", shipped)
    at = open_page("train")
    next(b for b in at.button if b.label == "Load it").click().run()
    assert not at.exception
    assert any("anime-faces: 64 samples" in c for im in at.image for c in im.captions)
    assert "4000" in at.dataframe[0].value["value"].tolist()

    latent = open_page("latent")
    assert latent.selectbox(key="gen_choice").value == "Shipped: anime-faces"
    assert "shipped generator 'anime-faces' (trained 4000 steps)" in latent.caption[0].value


def test_the_repos_shipped_generators_are_the_latent_default(monkeypatch):
    from dcgan import pretrained

    real = ROOT / "checkpoints"
    if not list(real.glob("*.safetensors")):
        pytest.skip("no shipped generators in checkpoints/ yet")
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", real)
    at = open_page("latent")
    picker = at.selectbox(key="gen_choice")
    assert picker.value == f"Shipped: {pretrained.default_name(real)}"
    assert all(f"Shipped: {n}" in picker.options for n in pretrained.available(real))
    assert not at.info, "a trained generator needs no 'untrained' note"

"""What the pages share: the server's one training job, the current model settings, where
checkpoints live, and the generator picker used by the Train and Latent space pages.

Not a page itself: app.py lists the pages with st.navigation, so this module is only imported.
Streamlit may be used here; anything a second UI could reuse lives in dcgan/ instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from dcgan import checkpoint as ckpt
from dcgan import data as dcdata
from dcgan import models, pretrained
from dcgan.config import Config, ModelConfig, preset
from dcgan.train import JobSlot, TrainingJob, pick_device, pick_precision

ROOT = Path(__file__).resolve().parents[1]

# The server, its rerun threads and often the browser share this machine with the trainer.
# With every core in torch's pool, a 2-core laptop thrashed (about 20x slower training), so
# leave one core free unless the user chose a thread count themselves.
if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
DEFAULT_PRESET = "classroom-cpu"  # works offline on a laptop CPU within a minute
NAMED_SOURCES = ("shapes", "pokemon", "anime-faces", "fashion-mnist")
SOURCE_LABELS = {
    "shapes": "Built-in shapes (offline)",
    "pokemon": "Pokemon (d2l, downloaded once)",
    "anime-faces": "Anime faces (local copy)",
    "fashion-mnist": "Fashion-MNIST",
}


@st.cache_resource(show_spinner=False)
def job_slot() -> JobSlot:
    """The one training job of this server process, shared by every browser session.

    Cached as a resource, so a reload or a second tab finds the same slot and the job's
    thread outlives any session: closing a tab neither stops nor orphans it."""
    return JobSlot()


def current_job() -> TrainingJob | None:
    """The latest job of this server, running or ended."""
    return job_slot().current()


def runs_dir() -> Path:
    """Where training checkpoints go: $DCGAN_RUNS_DIR, else checkpoints/runs (gitignored)."""
    return Path(os.environ.get("DCGAN_RUNS_DIR") or pretrained.CHECKPOINT_DIR / "runs")


def new_run_dir(cfg: Config) -> Path:
    """A fresh folder for one run, named by time, dataset and preset."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", Path(cfg.data.source).name).strip("-")[:30] or "data"
    return runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{cfg.preset}"


def uploads_dir() -> Path:
    """Uploaded files are kept here (outside the repo) for the life of the machine."""
    d = Path(tempfile.gettempdir()) / "dcgan-playground-uploads"
    d.mkdir(parents=True, exist_ok=True)
    return d


def check_source(source: str) -> None:
    """Raise DataError when a dataset path lies outside what browser users may read."""
    dcdata.check_path_allowed(source, extra_roots=(uploads_dir(),))


def save_upload(name: str, data: bytes) -> Path:
    """Write uploaded bytes to a file named by their hash, so the same upload is one file."""
    digest = hashlib.sha1(data).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[-60:] or "upload"
    path = uploads_dir() / f"{digest}-{safe}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return path


@st.cache_resource(show_spinner=False)
def device_info() -> dict:
    """The device and precision training picks here, and what the machine is."""
    dev = pick_device("auto")
    info = {
        "device": str(dev),
        "precision": pick_precision("auto", dev),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if dev.type == "cuda":
        info["name"] = torch.cuda.get_device_name(dev)
    return info


def device_line() -> str:
    """One line naming the device, e.g. 'cpu (bf16, 2 threads)'."""
    d = device_info()
    name = d.get("name", f"{d['threads']} CPU threads")
    return f"{d['device']} ({d['precision']}, {name})"


def current_config() -> tuple[Config, str]:
    """The model the user is looking at: the job's, else the Train page's, else the preset."""
    job = current_job()
    if job is not None and job.snapshot().config:
        return Config.from_dict(job.snapshot().config), "the current training job"
    if "train_cfg" in st.session_state:
        return Config.from_dict(st.session_state["train_cfg"]), "the Train page's settings"
    return preset(DEFAULT_PRESET), f"the {DEFAULT_PRESET} preset"


def saved_checkpoints(limit: int = 30) -> list[Path]:
    """Checkpoints and generator exports under runs_dir(), newest first."""
    root = runs_dir()
    if not root.is_dir():
        return []
    files = [
        p
        for p in root.rglob("*")
        if p.suffix in (".pt", ".safetensors") and p.is_file() and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)[:limit]


def job_summary(snap) -> str:
    """'classroom-cpu on shapes, batch 64, lr 0.0005' for a snapshot."""
    c = snap.config or {}
    t, d = c.get("train", {}), c.get("data", {})
    return (
        f"{c.get('preset', '?')} on {d.get('source', '?')}, batch {t.get('batch_size')}, "
        f"lr {t.get('lr')}, β1 {t.get('beta1')}"
    )


# ------------------------------------------------------------------ generators


@dataclass(frozen=True)
class Loaded:
    """A generator ready to sample, with what a user should know about it."""

    G: torch.nn.Module
    cfg: ModelConfig
    label: str
    note: str = ""  # shown as an info box: e.g. why the images are noise


@st.cache_resource(show_spinner=False, max_entries=8)
def _file_generator(path: str, mtime_ns: int):
    """Load a .pt or .safetensors generator once per file version (weights_only inside)."""
    return ckpt.load_generator(path)


@st.cache_resource(show_spinner=False, max_entries=2)
def _live_generator(_job: TrainingJob, job_key: float, step: int):
    """The job's latest published G weights in a CPU model (rebuilt when the step moves)."""
    got = _job.generator_weights()
    cfg = Config.from_dict(_job.snapshot().config).model
    G = models.Generator(cfg)
    G.load_state_dict(got[1])
    return G.eval(), cfg


@st.cache_resource(show_spinner=False)
def _untrained_generator():
    """A randomly initialised classroom generator: every page works with nothing trained."""
    cfg = preset(DEFAULT_PRESET).model
    return models.build(cfg, seed=0)[0].eval(), cfg


def generator_options() -> dict[str, str]:
    """Option key -> label for every generator this server can offer right now."""
    opts = {f"shipped:{n}": f"Shipped: {n}" for n in pretrained.available()}
    job = current_job()
    if job is not None and job.generator_weights() is not None:
        s = job.snapshot()
        opts["live"] = f"Training job: {s.config['data']['source']}, step {s.step} ({s.status})"
    for p in st.session_state.get("uploaded_generators", []):
        opts[f"file:{p}"] = f"Uploaded: {Path(p).name.split('-', 1)[-1]}"
    for p in saved_checkpoints(12):
        try:
            rel = p.relative_to(runs_dir())
        except ValueError:
            rel = p
        opts[f"file:{p}"] = f"Saved: {rel}"
    opts["untrained"] = "Untrained (random weights)"
    return opts


def load_generator_option(key: str) -> Loaded:
    """Load the generator an option key names; raises CheckpointError for a bad file."""
    if key.startswith("shipped:"):
        name = key.split(":", 1)[1]
        G, cfg, meta = pretrained.load(name)
        steps = meta.get("step", "?")
        return Loaded(G, cfg, f"shipped generator '{name}' (trained {steps} steps)")
    if key == "live":
        job = current_job()
        if job is None or job.generator_weights() is None:
            raise ckpt.CheckpointError("the training job has no weights yet; start one first.")
        step = job.generator_weights()[0]
        G, cfg = _live_generator(job, job.snapshot().started_at, step)
        note = ""
        if step < 100:
            note = (
                f"The training job is only at step {step}: its samples are still blobs. "
                "They sharpen as it trains; come back in a minute."
            )
        return Loaded(G, cfg, f"the training job at step {step}", note)
    if key.startswith("file:"):
        path = Path(key.split(":", 1)[1])
        if not path.exists():
            raise ckpt.CheckpointError(f"{path.name} is gone; pick another generator.")
        G, cfg, meta = _file_generator(str(path), path.stat().st_mtime_ns)
        return Loaded(G, cfg, f"{path.name} (step {meta.get('step', '?')})")
    G, cfg = _untrained_generator()
    return Loaded(
        G,
        cfg,
        "an untrained generator",
        "No trained generator is selected, so these images are what random weights make: "
        "smooth noise. Start a run on the Train page (a minute on the shapes gives "
        "recognisable shapes), then pick 'Training job' here, or load a shipped generator.",
    )


def default_generator_key(options: dict[str, str]) -> str:
    """The session's chosen model, else a shipped one, else the live job, else the newest file."""
    chosen = st.session_state.get("active_generator")
    if chosen in options:
        return chosen
    shipped = pretrained.default_name()
    if shipped and f"shipped:{shipped}" in options:
        return f"shipped:{shipped}"
    if "live" in options:
        return "live"
    return next(iter(options))


def generator_picker(label: str = "Generator", key: str = "gen_choice") -> Loaded | None:
    """A selectbox over generator_options(); the loaded generator, or None after an error."""
    options = generator_options()
    if st.session_state.get(key) not in options:
        st.session_state[key] = default_generator_key(options)
    choice = st.selectbox(
        label,
        list(options),
        format_func=lambda k: options.get(k, k),
        key=key,
        help="Shipped generators live in checkpoints/*.safetensors; saved runs in "
        "checkpoints/runs/; the training job's weights update as it trains.",
    )
    st.session_state["active_generator"] = choice
    try:
        return load_generator_option(choice)
    except ckpt.CheckpointError as e:
        st.error(f"Could not load that generator: {e}")
        return None


# (file, title, icon): app.py registers these with st.navigation, page_setup() links them
PAGES = (
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/data.py", "Data", ":material/photo_library:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/activations.py", "Activations", ":material/show_chart:"),
    ("pages/shapes.py", "Shapes", ":material/straighten:"),
    ("pages/latent.py", "Latent space", ":material/explore:"),
    ("pages/gan_basics.py", "GAN basics", ":material/scatter_plot:"),
)


def page_setup() -> None:
    """Page config, the sidebar's page links and status: the first call of every page.

    The links are drawn here rather than by st.navigation because Streamlit runs a deep link
    that arrives before any session ran app.py as a bare pages/ script (its pre-st.navigation
    mode); drawing the sidebar from every page makes both modes look and work the same."""
    st.set_page_config(page_title="DCGAN Playground", page_icon="🎨", layout="wide")
    with st.sidebar:
        st.markdown("### DCGAN Playground")
        for path, title, icon in PAGES:
            st.page_link(path, label=title, icon=icon)
        st.divider()
        sidebar_status()


@st.fragment(run_every=2)
def sidebar_status() -> None:
    """The device and the shared job's progress, refreshed every two seconds on every page."""
    job = current_job()
    if job is not None:
        s = job.snapshot()
        st.caption(f"Training job: **{s.status}**, step {s.step:,}/{s.total_steps or 0:,}")
    st.caption(f"Device: {device_line()}")

"""Checkpoints that describe themselves: the config travels with the weights.

A full checkpoint (.pt) holds the config, G/D/optimiser states, the step, the fixed noise and
the RNG state, so training resumes exactly. It is written atomically (temp file, fsync,
os.replace) and read with torch.load(weights_only=True), so a file carrying code is refused.

A generator export (.safetensors) holds only G's weights, in half precision by default, with
the model config in its metadata: what the Space and the latent pages load.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .config import Config, ConfigError, ModelConfig
from .models import Generator

FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = 2_000_000_000  # unpacked; a 128 px d2l run with Adam states is ~0.2 GB
RECALIBRATE_N, RECALIBRATE_SEED = 4096, 123  # latents for an export's BatchNorm statistics
MAX_RECORD_RATIO = 10.0  # torch.save stores records uncompressed; anything inflating more is a bomb


class CheckpointError(ValueError):
    """A checkpoint could not be used; the message says why and what to do."""


def _atomic_write(path: Path, write) -> Path:
    """Call write(tmp_path), fsync it, then os.replace onto path: never a half-written file.

    A process killed mid-write leaves the old file in place (and at worst a stray .tmp).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)  # the rename itself survives a power cut
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _fsync_dir(folder: Path) -> None:
    """fsync a directory entry where the platform allows it (POSIX); a no-op elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_archive(path: Path) -> None:
    """Refuse a .pt whose zip records would inflate far beyond the file (a zip bomb).

    torch.load inflates deflated records without a cap, so this runs before it.
    """
    if not zipfile.is_zipfile(path):
        return  # the legacy format is bounded by the file's own size
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # torch.load reports the damage in its own words
    total = sum(i.file_size for i in infos)
    if total > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path.name} unpacks to {total:,} bytes, over the {MAX_CHECKPOINT_BYTES:,} limit "
            "for a checkpoint; refusing to load it."
        )
    for i in infos:
        if i.file_size > MAX_RECORD_RATIO * max(i.compress_size, 1) + 65536:
            raise CheckpointError(
                f"{path.name} holds compressed records that inflate {i.file_size:,} bytes from "
                f"{i.compress_size:,} (torch.save never compresses): refused as a zip bomb."
            )


def _check_weights(sd, what: str, name: str) -> None:
    """Refuse anything but a mapping of parameter names to tensors."""
    if not isinstance(sd, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()
    ):
        raise CheckpointError(
            f"{name}: its {what} weights are not a mapping of names to tensors; "
            "it was not written by DCGAN Playground."
        )


def _check_shapes(sd: dict, cfg: ModelConfig, name: str) -> None:
    """Compare the file's tensor shapes with its config's generator, built on the meta device.

    Nothing is allocated, so a config claiming a giant network is refused before it is built.
    """
    with torch.device("meta"):
        ref = Generator(cfg).state_dict()
    missing = sorted(ref.keys() - sd.keys())
    extra = sorted(sd.keys() - ref.keys())
    wrong = [k for k in ref if k in sd and tuple(sd[k].shape) != tuple(ref[k].shape)]
    if missing or extra or wrong:
        detail = []
        if wrong:
            k = wrong[0]
            detail.append(f"{k} is {tuple(sd[k].shape)}, config needs {tuple(ref[k].shape)}")
        if missing:
            detail.append(f"missing {', '.join(missing[:3])}")
        if extra:
            detail.append(f"unexpected {', '.join(extra[:3])}")
        raise CheckpointError(
            f"{name}: weights do not match the architecture in its own config "
            f"({'; '.join(detail)})."
        )


def save(state: dict, path: str | os.PathLike) -> Path:
    """Write a full training checkpoint atomically."""
    state = {**state, "format_version": FORMAT_VERSION}
    return _atomic_write(Path(path), lambda tmp: torch.save(state, tmp))


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a full checkpoint safely; raise CheckpointError with a clear reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}.")
    _check_archive(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "GLOBAL" in str(e):  # weights_only met a class or function it will not import
            raise CheckpointError(
                f"{path.name} was refused: it holds Python objects or code, not just tensors "
                "(torch.load weights_only). Only load checkpoints this app wrote."
            ) from e
        raise CheckpointError(
            f"{path.name} is not a readable checkpoint: it is damaged, or a pickle that is not "
            "plain tensors, and was refused unread (torch.load weights_only)."
        ) from e
    except Exception as e:  # a damaged file can fail anywhere inside the unpickler
        raise CheckpointError(
            f"{path.name} is not a readable checkpoint (damaged or not a .pt file): {e}"
        ) from e
    if not isinstance(state, dict) or "config" not in state or "G" not in state:
        raise CheckpointError(
            f"{path.name} is a PyTorch file but not a DCGAN Playground checkpoint "
            "(no config or generator weights inside)."
        )
    try:
        if not isinstance(state["config"], dict):
            raise ConfigError(f"expected a mapping, found {type(state['config']).__name__}")
        Config.from_dict(state["config"]).validate()
    except (ConfigError, TypeError, ValueError, AttributeError) as e:
        # TypeError and friends: a field of the wrong type (a string where a number goes)
        raise CheckpointError(f"{path.name} carries an invalid config: {e}") from e
    _check_weights(state["G"], "generator", path.name)
    if "G_ema" in state:
        _check_weights(state["G_ema"], "averaged generator", path.name)
    if "D" in state:
        _check_weights(state["D"], "discriminator", path.name)
    return state


def export_generator(
    G: torch.nn.Module | dict,
    model_cfg: ModelConfig,
    path: str | os.PathLike,
    half: bool = True,
    meta: dict | None = None,
) -> Path:
    """Save G's weights as safetensors with the model config (and meta) in the metadata.

    Pass Trainer.sampling_generator() (G_ema when the EMA is on), the generator samples show.
    """
    sd = G.state_dict() if isinstance(G, torch.nn.Module) else G
    tensors = {}
    for k, v in sd.items():
        v = v.detach().cpu().contiguous()
        if half and v.is_floating_point():
            v = v.half()
        tensors[k] = v
    metadata = {
        "format": "dcgan-playground-generator",
        "format_version": str(FORMAT_VERSION),
        "model_config": json.dumps(model_cfg.__dict__),
    }
    for k, v in (meta or {}).items():
        metadata[k] = v if isinstance(v, str) else json.dumps(v)
    return _atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata of a generator export, config decoded."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{Path(path).name} is not a readable safetensors file: {e}") from e
    return meta


def check_model(cfg: ModelConfig, expected: ModelConfig | None, name: str = "checkpoint"):
    """Refuse a generator whose architecture differs from what the caller needs."""
    if expected is None:
        return
    fields = ("image_size", "nz", "ngf", "nc")
    diffs = [
        f"{f} {getattr(cfg, f)} (expected {getattr(expected, f)})"
        for f in fields
        if getattr(cfg, f) != getattr(expected, f)
    ]
    if diffs:
        raise CheckpointError(
            f"{name} does not fit the current model: " + ", ".join(diffs) + ". "
            "Pick matching settings, or load it on its own."
        )


def load_generator(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    expected: ModelConfig | None = None,
) -> tuple[torch.nn.Module, ModelConfig, dict]:
    """Rebuild a generator (eval mode, fp32) from a .safetensors export or a full .pt checkpoint.

    From a .pt the EMA generator (G_ema) is preferred when the run kept one; meta["weights"]
    says which. An export holds whichever generator its caller passed (the sampling one).
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        meta = read_metadata(path)
        if "model_config" not in meta:
            raise CheckpointError(
                f"{path.name} has no model_config in its metadata; it was not exported by "
                "DCGAN Playground, so its architecture is unknown."
            )
        try:
            cfg = ModelConfig(**json.loads(meta["model_config"]))
            cfg.validate()
        except (TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"{path.name} carries an invalid model config: {e}") from e
        try:
            sd = load_file(str(path))
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{path.name} is damaged: {e}") from e
    else:
        state = load(path)
        cfg = Config.from_dict(state["config"]).model
        # the weight average samples better (dcgan.trainer); checkpoints before it hold only G
        sd, meta = state.get("G_ema", state["G"]), {"step": str(state.get("step", 0))}
        meta["weights"] = "G_ema" if "G_ema" in state else "G"
    check_model(cfg, expected, path.name)
    _check_weights(sd, "generator", path.name)
    _check_shapes(sd, cfg, path.name)
    G = Generator(cfg)
    try:
        G.load_state_dict({k: v.float() for k, v in sd.items()})
    except RuntimeError as e:
        raise CheckpointError(
            f"{path.name}: weights do not match the architecture in its own config ({e})."
        ) from e
    # channels_last: the generator ran about 15% faster on the CPU (bench/README.md); the
    # pixels agree with the default layout to 1e-6
    fmt = torch.channels_last if torch.device(device).type == "cpu" else torch.preserve_format
    return G.to(device, memory_format=fmt).eval(), cfg, meta


@torch.no_grad()
def recalibrate_batchnorm(
    G: nn.Module, nz: int, n: int = RECALIBRATE_N, batch: int = 256, seed: int = RECALIBRATE_SEED
):
    """Recompute G's BatchNorm running statistics from n fresh latents; returns G in eval mode.

    For exports of the EMA generator: its averaged running statistics lag its averaged weights
    (anime faces at 2,000 steps: SWD 55.7 averaged, 46.1 recomputed; checkpoints/README.md).
    """
    bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over every batch below
    G.train()
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    for _ in range(max(1, n // batch)):  # statistics only: no_grad, no graph for the samples
        G(torch.randn(batch, nz, 1, 1, generator=gen).to(device))
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    return G.eval()


def export_final(tr, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Export a Trainer's final generator, the one every shipped or downloaded file holds.

    The sampling generator (the EMA's when the run keeps one) in half precision; an EMA
    generator first gets its BatchNorm statistics recomputed on a copy (recalibrate_batchnorm),
    which its metadata says."""
    G, meta = tr.sampling_generator(), dict(meta or {})
    if getattr(tr, "G_ema", None) is not None:
        G = recalibrate_batchnorm(copy.deepcopy(G), tr.cfg.model.nz)
        meta["batchnorm"] = f"recalibrated: {RECALIBRATE_N} latents, seed {RECALIBRATE_SEED}"
    return export_generator(G, tr.cfg.model, path, meta=meta)

"""The training engine: a Trainer that raises events, a background TrainingJob, and the CLI.

The Trainer never prints or draws. It keeps the data on the device as uint8, runs one D
update then one G update per step, keeps metrics on the device and syncs them every
`log_every` steps, and calls callbacks (minGPT style) that UIs attach to.

TrainingJob runs a Trainer in a thread with start/pause/resume/stop and a thread-safe
`snapshot()`; the Streamlit page polls it and never shares objects with the worker.

The CLI also runs under torchrun: each process trains on its own slice of every global batch,
DistributedDataParallel averages the gradients, and only rank 0 prints and saves.

    python -m dcgan.train --preset d2l --dataset pokemon --epochs 20 --out checkpoints/runs/pokemon
    torchrun --standalone --nproc_per_node 2 -m dcgan.train --preset d2l --dataset pokemon ...
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from . import checkpoint as ckpt
from . import models
from .config import PRESETS, Config, ConfigError, preset
from .data import DataError, ImageSet, load, to_model_range
from .images import grid_array
from .latent import generate, sample_z

METRICS = ("loss_D", "loss_G", "D_x", "D_G_z1", "D_G_z2", "grad_norm_G", "grad_norm_D")
MAX_TIMELINE = 200  # frames kept; older ones are thinned so memory stays bounded


class NonFiniteError(RuntimeError):
    """A loss or gradient became NaN or inf."""


class _Cancelled(Exception):
    """Raised inside a job's data loading when stop() is asked for."""


def pick_device(name: str = "auto") -> torch.device:
    """cuda, then mps, then cpu; or exactly the device asked for."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("train.device='cuda' but no CUDA GPU is visible; use --device cpu.")
    return torch.device(name)


@cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 matmul (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_precision(name: str, device: torch.device) -> str:
    """Resolve 'auto' to bf16 where the hardware runs it natively, else fp32.

    Emulated bf16 is slower than fp32 (bench/README.md), so fp32 is the fallback: CPUs without
    AVX512-BF16/AMX, and GPUs before Ampere, which torch reports as bf16-capable by emulation.
    """
    if name != "auto":
        return name
    if device.type == "cuda":
        native = torch.cuda.get_device_capability(device)[0] >= 8  # Ampere and later
        return "bf16" if native and torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def dist_world() -> tuple[int, int]:
    """(rank, world size) of the initialised process group; (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: str = "auto") -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1): nccl on CUDA, else gloo.

    Returns True when this process is one of several. Each CUDA process takes GPU LOCAL_RANK.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    use_cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return True


def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    """Total L2 norm of the gradients, kept on the device (no host sync)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@dataclass
class History:
    """Append-only metric columns; readers copy a prefix, so sharing across threads is safe."""

    step: list[int] = field(default_factory=list)
    columns: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in METRICS + ("examples_per_sec",)}
    )

    def __len__(self) -> int:
        return len(self.step)

    def to_state(self) -> dict:
        """Tensors for a checkpoint."""
        return {
            "step": torch.tensor(self.step, dtype=torch.int64),
            **{k: torch.tensor(v, dtype=torch.float64) for k, v in self.columns.items()},
        }

    @classmethod
    def from_state(cls, d: dict) -> History:
        """Rebuild from to_state()."""
        h = cls()
        h.step = d["step"].tolist()
        for k in h.columns:
            if k in d:
                h.columns[k] = d[k].tolist()
        return h


class Trainer:
    """One DCGAN: data resident on the device, step() = one D update then one G update."""

    def __init__(self, cfg: Config, data: ImageSet | torch.Tensor, device: str | None = None):
        self.cfg = cfg.validate()
        m, t = cfg.model, cfg.train
        images = data.images if isinstance(data, ImageSet) else data
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != m.nc:
            raise ConfigError(f"training images must be uint8 (N, {m.nc}, H, W).")
        if images.shape[-1] != m.image_size or images.shape[-2] != m.image_size:
            raise ConfigError(
                f"images are {images.shape[-1]}px but model.image_size={m.image_size}; "
                "load the dataset at the model's size."
            )
        self.rank, self.world_size = dist_world()
        if t.batch_size * self.world_size > len(images):
            per = f" x {self.world_size} processes" if self.world_size > 1 else ""
            raise ConfigError(
                f"train.batch_size={t.batch_size}{per} is larger than the dataset "
                f"({len(images)} images); lower the batch size or add images."
            )
        self.device = pick_device(device or t.device)
        if self.world_size > 1 and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())  # LOCAL_RANK's GPU
        self.precision = pick_precision(t.precision, self.device)
        self.images = images.to(self.device)  # uint8 on the device: 4x smaller than float
        self.memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
        self.G, self.D = models.build(m, seed=t.seed)
        self.G.to(self.device, memory_format=self.memory_format)
        self.D.to(self.device, memory_format=self.memory_format)
        fused = self.device.type == "cuda"
        betas = (t.beta1, t.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=t.lr, betas=betas, fused=fused)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=t.lr, betas=betas, fused=fused)
        self.loss = nn.BCEWithLogitsLoss(reduction=t.loss_reduction)
        # noise and flips: rank 0 draws exactly what a single process draws; other ranks differ
        self.rng = torch.Generator(device=self.device).manual_seed(t.seed + self.rank)
        # the epoch permutation must agree across ranks, so under DDP it has its own generator
        self._perm_rng = self.rng
        if self.world_size > 1:
            self._perm_rng = torch.Generator(device=self.device).manual_seed(t.seed)
        self.fixed_noise = sample_z(t.n_samples, m.nz, seed=t.seed + 1).to(self.device)
        self.global_batch = t.batch_size * self.world_size  # one step consumes this many images
        # drop_last: BN never sees tiny batches
        self.steps_per_epoch = len(images) // self.global_batch
        self.total_steps = t.steps or t.epochs * self.steps_per_epoch
        self.step_num = 0
        self.epoch = 0
        self._perm: torch.Tensor | None = None
        self._pos = 0
        self._pending: list[torch.Tensor] = []
        self._window_t0 = time.perf_counter()
        self._window_examples = 0
        self.history = History()
        self.timeline: list[tuple[int, np.ndarray]] = []
        self.callbacks: dict[str, list[Callable]] = defaultdict(list)
        self._d_params = list(self.D.parameters())
        self._g_params = list(self.G.parameters())
        self._ones = torch.ones(t.batch_size, device=self.device)
        self._zeros = torch.zeros(t.batch_size, device=self.device)
        # Ablation switches for bench/ablation.py; the defaults are what measured fastest
        # (bench/README.md). Neither changes the gradients, only the work done per step.
        self.reuse_fake = True  # one G(z) per step, shared by the D and G updates
        self.freeze_d_in_g_step = True  # G's update needs grads through D, not D's weight grads
        # Under DDP the step runs through wrappers that average gradients across ranks;
        # self.G and self.D stay the plain modules for sampling, export and checkpoints.
        self._G_step: nn.Module = self.G
        self._D_step: nn.Module = self.D
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._G_step = DistributedDataParallel(self.G, device_ids=ids)
            self._D_step = DistributedDataParallel(self.D, device_ids=ids)

    # ------------------------------------------------------------------ events

    def add_callback(self, event: str, fn: Callable) -> None:
        """Register fn(trainer, **info) for 'on_step', 'on_metrics', 'on_sample', 'on_epoch_end'."""
        self.callbacks[event].append(fn)

    def trigger(self, event: str, **info) -> None:
        """Call every callback registered for event."""
        for fn in self.callbacks.get(event, []):
            fn(self, **info)

    # ------------------------------------------------------------------ the step

    def _autocast(self):
        """bf16 autocast where chosen; convs and matmuls run in bf16, losses stay fp32."""
        return torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"
        )

    def _next_batch(self) -> torch.Tensor:
        """The next shuffled batch, normalised to [-1, 1] on the device.

        Under DDP every rank holds the same permutation and takes its own slice of each
        global batch, so the ranks together see each image once per epoch.
        """
        bs = self.cfg.train.batch_size
        if self._perm is None:
            self._perm = torch.randperm(
                len(self.images), generator=self._perm_rng, device=self.device
            )
            self._pos = 0
        start = self._pos + self.rank * bs
        idx = self._perm[start : start + bs]
        self._pos += self.global_batch
        x = to_model_range(self.images[idx], self.cfg.data.flip, self.rng)
        return x.contiguous(memory_format=self.memory_format)

    def step(self) -> None:
        """One D update, then one G update; metrics stay on the device until flush()."""
        t = self.cfg.train
        X = self._next_batch()
        b = X.shape[0]
        Z = torch.randn(b, self.cfg.model.nz, 1, 1, device=self.device, generator=self.rng)
        ones, zeros = self._ones[:b], self._zeros[:b]

        with self._autocast():
            fake = self._G_step(Z)  # computed once, reused by both updates

        # (1) update D: maximise log D(x) + log(1 - D(G(z)))
        self.opt_D.zero_grad(set_to_none=True)
        with self._autocast():
            real_logits = self._D_step(X).flatten()
            fake_logits = self._D_step(fake.detach()).flatten()
        loss_D = (self.loss(real_logits.float(), ones) + self.loss(fake_logits.float(), zeros)) / 2
        loss_D.backward()
        gnorm_D = _grad_norm(self._d_params)
        self.opt_D.step()

        # (2) update G: maximise log D(G(z)), the non-saturating loss
        self.opt_G.zero_grad(set_to_none=True)
        if not self.reuse_fake:  # the chapter's way: a second, identical G(z) (same weights, z)
            with self._autocast():
                fake = self._G_step(Z)
        frozen = self.freeze_d_in_g_step
        if frozen:
            self.D.requires_grad_(False)  # G's step needs grads through D, not for D's weights
        with self._autocast():
            # a frozen D has nothing for DDP to average, so the plain module runs it
            fake_logits_2 = (self.D if frozen else self._D_step)(fake).flatten()
        loss_G = self.loss(fake_logits_2.float(), ones)
        loss_G.backward()
        if frozen:
            self.D.requires_grad_(True)
        gnorm_G = _grad_norm(self._g_params)
        self.opt_G.step()

        with torch.no_grad():
            self._pending.append(
                torch.stack(
                    [
                        loss_D.detach(),
                        loss_G.detach(),
                        torch.sigmoid(real_logits.detach().float()).mean(),
                        torch.sigmoid(fake_logits.detach().float()).mean(),
                        torch.sigmoid(fake_logits_2.detach().float()).mean(),
                        gnorm_G,
                        gnorm_D,
                    ]
                )
            )
        self.step_num += 1
        self._window_examples += b
        self.trigger("on_step")
        if self.step_num % t.log_every == 0:
            self.flush()
        if self.step_num % t.sample_every == 0 or self.step_num == 1:
            self.record_sample()
        if self._pos + self.global_batch > len(self.images):
            self._perm = None
            self.epoch += 1
            self.flush()
            self.trigger("on_epoch_end")

    def flush(self) -> None:
        """Copy pending on-device metrics to the history: the only per-window host sync."""
        if not self._pending:
            return
        rows = torch.stack(self._pending).float().cpu()
        n = len(self._pending)
        self._pending = []
        now = time.perf_counter()
        eps = self._window_examples / max(now - self._window_t0, 1e-9)
        self._window_t0, self._window_examples = now, 0
        if not torch.isfinite(rows).all():
            bad = [METRICS[j] for j in range(len(METRICS)) if not torch.isfinite(rows[:, j]).all()]
            raise NonFiniteError(
                f"training diverged near step {self.step_num}: {', '.join(bad)} became NaN/inf. "
                "Try a lower learning rate or the 'paper' preset."
            )
        first = self.step_num - n + 1
        self.history.step.extend(range(first, self.step_num + 1))
        for j, k in enumerate(METRICS):
            self.history.columns[k].extend(rows[:, j].tolist())
        self.history.columns["examples_per_sec"].extend([eps] * n)
        self.trigger("on_metrics", rows=rows)

    @torch.no_grad()
    def sample(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """Images in [-1, 1] from G (eval mode); the fixed noise when z is None."""
        return generate(self.G, self.fixed_noise if z is None else z)

    def record_sample(self) -> None:
        """Add the fixed-noise grid to the timeline and announce it."""
        grid = grid_array(self.sample(), nrow=int(math.sqrt(self.cfg.train.n_samples)) or None)
        self.timeline.append((self.step_num, grid))
        if len(self.timeline) > MAX_TIMELINE:
            self.timeline = self.timeline[:1] + self.timeline[2::2]  # keep step 1, thin the rest
        self.trigger("on_sample", grid=grid)

    def run(self, steps: int | None = None) -> None:
        """Train until `steps` more steps (default: to total_steps) are done."""
        end = self.total_steps if steps is None else self.step_num + steps
        while self.step_num < end:
            self.step()
        self.flush()

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """Everything needed to continue exactly: weights, optimisers, RNG and data position."""
        self.flush()
        return {
            "config": self.cfg.to_dict(),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "step": self.step_num,
            "epoch": self.epoch,
            "perm": None if self._perm is None else self._perm.cpu(),
            "pos": self._pos,
            "fixed_noise": self.fixed_noise.cpu(),
            "rng": self.rng.get_state(),
            "perm_rng": self._perm_rng.get_state(),
            "world_size": self.world_size,
            "history": self.history.to_state(),
            "device": str(self.device),
            "precision": self.precision,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a checkpoint written by state_dict()."""
        saved = Config.from_dict(state["config"]).model
        ckpt.check_model(saved, self.cfg.model, "the checkpoint")
        try:
            self.G.load_state_dict(state["G"])
            self.D.load_state_dict(state["D"])
            self.opt_G.load_state_dict(state["opt_G"])
            self.opt_D.load_state_dict(state["opt_D"])
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ckpt.CheckpointError(f"checkpoint weights do not fit this model: {e}") from e
        try:
            self.step_num = int(state["step"])
            self.epoch = int(state.get("epoch", 0))
            perm = state.get("perm")
            if perm is not None and (perm.dim() != 1 or len(perm) != len(self.images)):
                perm = None  # another dataset's order: start a fresh epoch instead of indexing out
            self._perm = None if perm is None else perm.to(self.device, torch.int64)
            self._pos = int(state.get("pos", 0)) if perm is not None else 0
            self.fixed_noise = state["fixed_noise"].to(self.device)
            try:
                self.rng.set_state(state["rng"])
                if self.world_size > 1:
                    self._perm_rng.set_state(state.get("perm_rng", state["rng"]))
            except RuntimeError:
                self.rng.manual_seed(self.cfg.train.seed + self.step_num)  # other device type
            if self.rank > 0:  # the checkpoint holds rank 0's noise stream; keep ranks distinct
                self.rng.manual_seed(self.cfg.train.seed + self.rank + 7919 * self.step_num)
            if int(state.get("world_size", 1)) != self.world_size:
                self._perm, self._pos = None, 0  # a new world size starts a fresh epoch order
            if "history" in state:
                self.history = History.from_state(state["history"])
        except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as e:
            raise ckpt.CheckpointError(
                f"the checkpoint's training state is damaged ({type(e).__name__}: {e}); "
                "sample from it, or start a fresh run."
            ) from e


# ---------------------------------------------------------------------- background job

STATUSES = ("idle", "loading", "running", "paused", "stopped", "finished", "failed")


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of a job, safe to read from any thread."""

    status: str = "idle"
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    device: str = ""
    precision: str = ""
    error: str | None = None
    config: dict | None = None
    timeline: tuple[tuple[int, np.ndarray], ...] = ()
    checkpoint_path: str | None = None
    load_progress: float = 0.0
    started_at: float = 0.0
    _history: History | None = None
    _n: int = 0

    @property
    def latest_grid(self) -> np.ndarray | None:
        return self.timeline[-1][1] if self.timeline else None

    def history(self, key: str) -> list[float]:
        """A copy of one metric column ('step' for the step numbers)."""
        if self._history is None:
            return []
        col = self._history.step if key == "step" else self._history.columns[key]
        return list(col[: self._n])

    @property
    def examples_per_sec(self) -> float:
        col = self.history("examples_per_sec")
        return col[-1] if col else 0.0


class TrainingJob:
    """Runs one Trainer in a daemon thread; every control answers within one step."""

    def __init__(
        self,
        cfg: Config,
        data: ImageSet | None = None,
        out_dir: str | Path | None = None,
        resume: str | Path | None = None,
        fault: Callable[[Trainer], None] | None = None,
    ):
        self.cfg = cfg.validate()
        self.data = data
        self.out_dir = Path(out_dir) if out_dir else None
        self.resume_path = resume
        self._fault = fault  # test hook: called after each step, may corrupt the trainer
        self._lock = threading.Lock()
        self._run_gate = threading.Event()
        self._run_gate.set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snap = Snapshot(config=cfg.to_dict())
        self.trainer: Trainer | None = None
        self._g_copy: tuple[int, dict] | None = None

    # -------------------------------------------------------------- controls

    def start(self) -> None:
        """Start the worker thread (once)."""
        if self._thread is not None:
            raise RuntimeError("this job was already started; create a new job to train again.")
        self._publish(status="loading", started_at=time.time())
        self._thread = threading.Thread(target=self._work, name="dcgan-train", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Hold the worker before its next step."""
        self._run_gate.clear()
        with self._lock:
            if self._snap.status == "running":
                self._snap = _replace(self._snap, status="paused")

    def resume(self) -> None:
        """Let a paused worker continue."""
        with self._lock:
            if self._snap.status == "paused":
                self._snap = _replace(self._snap, status="running")
        self._run_gate.set()

    def stop(self) -> None:
        """Ask the worker to finish after the current step (a final checkpoint is written)."""
        self._stop.set()
        self._run_gate.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends; True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self) -> Snapshot:
        """The latest immutable snapshot (O(1): the worker publishes, readers just take it)."""
        with self._lock:
            return self._snap

    def generator_weights(self) -> tuple[int, dict] | None:
        """(step, CPU copy of G's state dict) from the last publish, for the latent pages."""
        with self._lock:
            return self._g_copy

    # -------------------------------------------------------------- worker

    def _publish(self, **changes) -> None:
        with self._lock:
            self._snap = _replace(self._snap, **changes)

    def _publish_trainer(self, tr: Trainer, copy_g: bool = True, **changes) -> None:
        """Publish the trainer's progress: history prefix, timeline and a copy of G."""
        if copy_g:
            g = {k: v.detach().to("cpu", copy=True) for k, v in tr.G.state_dict().items()}
        with self._lock:
            if copy_g:
                self._g_copy = (tr.step_num, g)
            self._snap = _replace(
                self._snap,
                step=tr.step_num,
                epoch=tr.epoch,
                timeline=tuple(tr.timeline),
                _history=tr.history,
                _n=len(tr.history),
                **changes,
            )

    def _save(self, tr: Trainer) -> None:
        """Write the last-good checkpoint (called only right after metrics proved finite)."""
        if self.out_dir is None:
            return
        # The losses can stay finite while a BatchNorm statistic is already NaN: check every
        # weight and buffer too, so the file on disk is always one that samples.
        for net_name, net in (("G", tr.G), ("D", tr.D)):
            for name, v in net.state_dict().items():
                if v.is_floating_point() and not bool(torch.isfinite(v).all()):
                    raise NonFiniteError(
                        f"training diverged near step {tr.step_num}: {net_name}'s {name} "
                        "became NaN/inf. Try a lower learning rate or the 'paper' preset."
                    )
        path = ckpt.save(tr.state_dict(), self.out_dir / "last.pt")
        self._publish(checkpoint_path=str(path))

    def _work(self) -> None:
        tr = None
        try:
            data = self.data
            if data is None:
                c = self.cfg

                def progress(done, total):
                    if self._stop.is_set():
                        raise _Cancelled  # stop answers during a long decode too
                    self._publish(load_progress=done / total if total else 0.0)

                data = load(
                    c.data.source,
                    c.model.image_size,
                    classes=c.data.classes,
                    limit=c.data.limit,
                    progress=progress,
                )
            if self._stop.is_set():
                raise _Cancelled
            tr = self.trainer = Trainer(self.cfg, data)
            if self.resume_path:
                tr.load_state_dict(ckpt.load(self.resume_path, map_location=tr.device))
            first_step = tr.step_num
            t = self.cfg.train
            tr.add_callback("on_metrics", lambda trainer, rows: self._publish_trainer(trainer))
            tr.add_callback("on_sample", lambda trainer, grid: self._publish_trainer(trainer))
            with self._lock:  # read the gate under the lock pause() takes: no lost pause
                self._snap = _replace(
                    self._snap,
                    status="running" if self._run_gate.is_set() else "paused",
                    total_steps=tr.total_steps,
                    device=str(tr.device),
                    precision=tr.precision,
                    load_progress=1.0,
                )
            while tr.step_num < tr.total_steps and not self._stop.is_set():
                if not self._run_gate.is_set():
                    tr.flush()
                    self._publish_trainer(tr)
                    self._run_gate.wait()
                    continue
                tr.step()
                if self._fault:
                    self._fault(tr)
                if tr.step_num % t.checkpoint_every == 0:
                    tr.flush()  # raises NonFiniteError before a bad state can be saved
                    self._save(tr)
            tr.flush()
            if tr.step_num > first_step:  # a job stopped before its first step overwrites nothing
                self._save(tr)
            status = "stopped" if self._stop.is_set() else "finished"
            self._publish_trainer(tr, status=status)
        except _Cancelled:
            self._publish(status="stopped")
        except NonFiniteError as e:
            kept = self._snap.checkpoint_path
            where = f" The last good checkpoint is kept at {kept}." if kept else ""
            self._fail(tr, f"{e}{where}")
        except (torch.OutOfMemoryError, MemoryError) as e:
            self._out_of_memory(
                tr, "GPU memory" if isinstance(e, torch.OutOfMemoryError) else "memory"
            )
        except (ConfigError, DataError, ckpt.CheckpointError) as e:
            self._fail(tr, str(e))
        except Exception as e:  # a crash ends this job, never the app around it
            if "out of memory" in str(e).lower():  # MPS and some CUDA paths raise RuntimeError
                self._out_of_memory(tr, "memory")
            else:
                self._fail(tr, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}")
        except BaseException as e:  # SystemExit & co. in a library: still a failed job, not a hang
            self._fail(tr, f"{type(e).__name__}: {e} (the training thread was asked to exit)")

    def _out_of_memory(self, tr: Trainer | None, what: str) -> None:
        """Fail with a message that names the batch size and a smaller one to try."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # hand the failed step's blocks back for the next job
        bs = self.cfg.train.batch_size
        kept = self._snap.checkpoint_path
        where = f" The last good checkpoint is kept at {kept}." if kept else ""
        self._fail(
            tr,
            f"out of {what} at batch size {bs}; try a smaller batch "
            f"(for example {max(1, bs // 2)}) or a smaller image size.{where}",
        )

    def _fail(self, tr: Trainer | None, message: str) -> None:
        changes = {"status": "failed", "error": message}
        if tr is not None:
            tr._pending = []  # the bad rows must not reach the history
            self._publish_trainer(tr, copy_g=False, **changes)  # keep the last good G
        else:
            self._publish(**changes)


def _replace(snap: Snapshot, **changes) -> Snapshot:
    return Snapshot(**{**snap.__dict__, **changes})


class JobBusy(RuntimeError):
    """A second Start while a job is running."""


class JobSlot:
    """At most one live job per process: every browser session shares it."""

    def __init__(self):
        self._lock = threading.Lock()
        self.job: TrainingJob | None = None

    def start(self, cfg: Config, **kwargs) -> TrainingJob:
        """Start a new job, or raise JobBusy while one is loading, running or paused."""
        with self._lock:
            if self.job is not None and self.job.alive:
                s = self.job.snapshot()
                raise JobBusy(
                    f"a training job is already {s.status} (step {s.step}/{s.total_steps}); "
                    "stop it before starting another."
                )
            self.job = TrainingJob(cfg, **kwargs)
            self.job.start()
            return self.job

    def current(self) -> TrainingJob | None:
        """The latest job, running or ended."""
        return self.job


# ---------------------------------------------------------------------- CLI


def build_config(a: argparse.Namespace) -> Config:
    """Apply CLI overrides to a preset; the dataclasses validate every field."""
    cfg = preset(a.preset)
    over = {
        "data.source": a.dataset,
        "train.epochs": a.epochs,
        "train.steps": a.steps,
        "train.batch_size": a.batch_size,
        "train.lr": a.lr,
        "train.seed": a.seed,
        "train.device": a.device,
        "train.precision": a.precision,
        "train.sample_every": a.sample_every,
        "model.image_size": a.image_size,
        "model.ngf": a.ngf,
        "model.ndf": a.ndf,
        "model.nz": a.nz,
        "model.d_activation": a.d_activation,
        "model.leaky_alpha": a.alpha,
        "data.limit": a.limit,
        "data.classes": tuple(a.classes) if a.classes else None,
    }
    cfg = cfg.replace(**{k: v for k, v in over.items() if v is not None})
    if a.flip:
        cfg.data.flip = True
    return cfg.validate()


def main(argv: list[str] | None = None) -> int:
    """Train from the command line; print one line per epoch (rank 0 only under torchrun)."""
    from tqdm import tqdm

    p = argparse.ArgumentParser(prog="python -m dcgan.train", description="Train a DCGAN.")
    p.add_argument("--preset", default="d2l", choices=sorted(PRESETS))
    p.add_argument("--dataset", help="shapes, pokemon, anime-faces, fashion-mnist, or a path")
    p.add_argument("--out", default="checkpoints/runs/latest", help="folder for checkpoints")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int)
    g.add_argument("--steps", type=int, help="train exactly N steps instead of epochs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"])
    p.add_argument("--image-size", type=int)
    p.add_argument("--ngf", type=int)
    p.add_argument("--ndf", type=int)
    p.add_argument("--nz", type=int)
    p.add_argument("--d-activation", choices=["leaky_relu", "relu"])
    p.add_argument("--alpha", type=float, help="LeakyReLU slope in D")
    p.add_argument("--classes", type=int, nargs="*", help="Fashion-MNIST class filter")
    p.add_argument("--limit", type=int, help="use at most N images")
    p.add_argument("--flip", action="store_true", help="random horizontal flips")
    p.add_argument("--sample-every", type=int)
    p.add_argument("--resume", help="continue from a checkpoint (.pt)")
    p.add_argument("--export", action="store_true", help="also write generator.safetensors")
    a = p.parse_args(argv)

    distributed = False
    try:
        distributed = init_distributed(a.device or "auto")
        lead = dist_world()[0] == 0  # under torchrun only rank 0 prints and saves
        if a.resume and a.dataset is None:
            saved = Config.from_dict(ckpt.load(a.resume)["config"])
            a.dataset = saved.data.source
        cfg = build_config(a)
        out = Path(a.out)
        try:  # find out now, not after an hour of training, that the folder cannot be written
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"cannot write checkpoints to {out} ({e.strerror or e}); pick another --out folder."
            ) from e
        t0 = time.perf_counter()
        if distributed and not lead:
            dist.barrier()  # rank 0 decodes first; the others then read its cache
        data = load(cfg.data.source, cfg.model.image_size, cfg.data.classes, cfg.data.limit)
        if distributed and lead:
            dist.barrier()
        tr = Trainer(cfg, data)
        if a.resume:
            tr.load_state_dict(ckpt.load(a.resume, map_location=tr.device))
        batch = f"batch {cfg.train.batch_size}"
        if tr.world_size > 1:
            batch += f" x {tr.world_size} processes"
        if lead:
            print(
                f"{len(data)} images from {cfg.data.source} ({time.perf_counter() - t0:.1f}s), "
                f"preset {cfg.preset}, {tr.total_steps} steps of {batch}, "
                f"device {tr.device}, {tr.precision}",
                flush=True,
            )
        bar = tqdm(
            total=tr.total_steps,
            initial=tr.step_num,
            unit="step",
            dynamic_ncols=True,
            disable=not lead,
        )
        epoch_t0 = [time.perf_counter(), tr.step_num]

        def on_step(trainer):
            bar.update(1)

        def on_epoch_end(trainer):
            h = trainer.history.columns
            n = max(1, trainer.step_num - epoch_t0[1])
            secs = time.perf_counter() - epoch_t0[0]
            eps = n * trainer.global_batch / max(secs, 1e-9)  # all ranks together
            epoch_t0[:] = [time.perf_counter(), trainer.step_num]
            if not lead:
                return
            tqdm.write(
                f"epoch {trainer.epoch}: loss_D {np.mean(h['loss_D'][-n:]):.3f}, "
                f"loss_G {np.mean(h['loss_G'][-n:]):.3f}, {eps:.0f} examples/sec, "
                f"device {trainer.device}"
            )
            ckpt.save(trainer.state_dict(), out / "ckpt.pt")

        tr.add_callback("on_step", on_step)
        tr.add_callback("on_epoch_end", on_epoch_end)
        run_t0 = time.perf_counter()
        tr.run()
        bar.close()
        wall = time.perf_counter() - run_t0
        if not lead:
            return 0
        path = ckpt.save(tr.state_dict(), out / "ckpt.pt")
        print(f"trained to step {tr.step_num} in {wall:.0f} s on {tr.device} ({tr.precision})")
        print(f"checkpoint written to {path}")
        if a.export:
            meta = {
                "step": tr.step_num,
                "preset": cfg.preset,
                "dataset": cfg.data.source,
                "wall_seconds": round(wall, 1),
                "device": str(tr.device),
                "precision": tr.precision,
                "command": "python -m dcgan.train "
                + " ".join(sys.argv[1:] if argv is None else argv),
            }
            gpath = ckpt.export_generator(tr.G, cfg.model, out / "generator.safetensors", meta=meta)
            print(f"generator written to {gpath}")
    except (ConfigError, DataError, ckpt.CheckpointError, NonFiniteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk or a folder that vanished mid-run
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

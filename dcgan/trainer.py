"""The Trainer: one DCGAN, data resident on the device, one D update then one G update per step.

Longer than the house's 400 lines on purpose: the step, the weight average and the state saved
and restored must be read together, or an exact resume breaks.

The Trainer never prints or draws. It keeps the data on the device as uint8, keeps metrics on
the device and syncs them every `log_every` steps, and calls callbacks (minGPT style) that the
job loop (dcgan.job), the CLI (dcgan.train) and the benchmarks attach to.

Under torchrun each process trains on its own slice of every global batch, and
DistributedDataParallel averages the gradients.

Two optional aids for samples worth showing (both off in the `d2l` preset):
- an exponential moving average of G's weights, `G_ema` (Yazici et al. 2019), which the
  samples, the timeline and the exports come from (`sampling_generator()`);
- DiffAugment (Zhao et al. 2020, dcgan.augment) on every image D sees, real or fake.
"""

from __future__ import annotations

import copy
import math
import os
import time
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
from .augment import diff_augment, parse_policy
from .config import Config, ConfigError
from .data import ImageSet, to_model_range
from .images import grid_array
from .latent import generate, sample_z

METRICS = ("loss_D", "loss_G", "D_x", "D_G_z1", "D_G_z2", "grad_norm_G", "grad_norm_D")
MAX_TIMELINE = 200  # frames kept; older ones are thinned so memory stays bounded


class NonFiniteError(RuntimeError):
    """A loss or gradient became NaN or inf."""


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


@torch.no_grad()
def recalibrate_batchnorm(G: nn.Module, nz: int, n: int = 4096, batch: int = 256, seed: int = 123):
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
    with torch.no_grad():  # statistics only: no graph for 4,096 samples
        for _ in range(max(1, n // batch)):
            G(torch.randn(batch, nz, 1, 1, generator=gen).to(device))
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    return G.eval()


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
        # The EMA generator: a frozen copy that follows G (see _update_ema for its BatchNorm)
        self.G_ema: nn.Module | None = None
        if t.ema_decay > 0:
            self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self._aug_policy = parse_policy(t.diffaugment)
        # its own stream, so turning DiffAugment on leaves the noise and data order unchanged
        self.aug_rng = torch.Generator(device=self.device).manual_seed(t.seed + 104729 + self.rank)
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
        self._sampled_at = -math.inf  # monotonic time of the last grid (train.sample_min_s)
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

    def step(self, part: str = "both") -> None:
        """One D update, then one G update; metrics stay on the device until flush().

        part="D" or "G" does only that half (GAN Lab's single steps, for teaching): the other
        network's loss is still measured, without a gradient, so the charts stay complete.
        """
        t = self.cfg.train
        do_D, do_G = part in ("both", "D"), part in ("both", "G")
        X = self._next_batch()
        b = X.shape[0]
        Z = torch.randn(b, self.cfg.model.nz, 1, 1, device=self.device, generator=self.rng)
        ones, zeros = self._ones[:b], self._zeros[:b]

        with self._autocast(), torch.set_grad_enabled(do_G):
            fake = self._G_step(Z)  # computed once, reused by both updates

        # (1) update D: maximise log D(x) + log(1 - D(G(z)))
        self.opt_D.zero_grad(set_to_none=True)
        with self._autocast(), torch.set_grad_enabled(do_D):
            real_logits = self._D_step(self._augment(X)).flatten()
            fake_logits = self._D_step(self._augment(fake.detach())).flatten()
        loss_D = (self.loss(real_logits.float(), ones) + self.loss(fake_logits.float(), zeros)) / 2
        gnorm_D = torch.zeros((), device=self.device)
        if do_D:
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
        with self._autocast(), torch.set_grad_enabled(do_G):
            # a frozen D has nothing for DDP to average, so the plain module runs it
            fake_in = self._augment(fake)  # a fresh draw: G cannot learn one fixed augmentation
            fake_logits_2 = (self.D if frozen else self._D_step)(fake_in).flatten()
        loss_G = self.loss(fake_logits_2.float(), ones)
        gnorm_G = torch.zeros((), device=self.device)
        if do_G:
            loss_G.backward()
        if frozen:
            self.D.requires_grad_(True)
        if do_G:
            gnorm_G = _grad_norm(self._g_params)
            self.opt_G.step()
            self._update_ema()

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
        if self.step_num == 1 or (self.step_num % t.sample_every == 0 and self._sample_due()):
            self.record_sample()
        if self._pos + self.global_batch > len(self.images):
            self._perm = None
            self.epoch += 1
            self.flush()
            self.trigger("on_epoch_end")

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """DiffAugment x before D when train.diffaugment names a policy; else x unchanged."""
        if not self._aug_policy:
            return x
        return diff_augment(x, self._aug_policy, self.aug_rng)

    def ema_decay_at(self, step: int) -> float:
        """The EMA decay used after update `step` (0-based): ramps up to train.ema_decay."""
        t = self.cfg.train
        if t.ema_warmup <= 1:
            return t.ema_decay
        return min(t.ema_decay, (1 + step) / (t.ema_warmup + step))

    @torch.no_grad()
    def _update_ema(self) -> None:
        """Move G_ema towards G: w_ema = d * w_ema + (1 - d) * w, d from ema_decay_at().

        BatchNorm: the running mean and variance are averaged with the same decay as the
        weights, so the statistics G_ema samples with (eval mode) describe the same window of
        training as its weights, rather than G's last few batches; num_batches_tracked is
        copied. Averaging costs one fused lerp per tensor list per step. They still lag the
        averaged weights a little, so exports recompute them (recalibrate_batchnorm).
        """
        if self.G_ema is None:
            return
        w = 1.0 - self.ema_decay_at(self.step_num)
        ema_p = list(self.G_ema.parameters())
        torch._foreach_lerp_(ema_p, self._g_params, w)
        floats, src = [], []
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            if b.is_floating_point():
                floats.append(b_ema)
                src.append(b)
            else:
                b_ema.copy_(b)
        if floats:
            torch._foreach_lerp_(floats, src, w)

    def sampling_generator(self) -> nn.Module:
        """The generator samples come from: G_ema when the EMA is on, else G."""
        return self.G_ema if self.G_ema is not None else self.G

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
        """Images in [-1, 1] from sampling_generator() (eval mode); fixed noise when z is None."""
        return generate(self.sampling_generator(), self.fixed_noise if z is None else z)

    @torch.no_grad()
    def sample_raw(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """Images from the raw G, not the average: shown beside sample() to teach the EMA."""
        return generate(self.G, self.fixed_noise if z is None else z)

    def _sample_due(self) -> bool:
        """Whether train.sample_min_s has passed since the last grid (always, when it is 0)."""
        return time.monotonic() - self._sampled_at >= self.cfg.train.sample_min_s

    def record_sample(self) -> None:
        """Add the fixed-noise grid (from sampling_generator()) to the timeline and announce it."""
        grid = grid_array(self.sample(), nrow=int(math.sqrt(self.cfg.train.n_samples)) or None)
        self._sampled_at = time.monotonic()
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
            **({"G_ema": self.G_ema.state_dict()} if self.G_ema is not None else {}),
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
            "aug_rng": self.aug_rng.get_state(),
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
            if self.G_ema is not None:
                # a checkpoint from before the EMA (or with it off) starts the average at G
                self.G_ema.load_state_dict(state.get("G_ema", state["G"]))
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
                if "aug_rng" in state:
                    self.aug_rng.set_state(state["aug_rng"])
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

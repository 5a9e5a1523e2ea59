"""The Trainer: one DCGAN, data resident on the device, one D update then one G update per step.

The Trainer never prints or draws. It keeps the data on the device as uint8, keeps metrics on
the device and syncs them every `log_every` steps, and calls callbacks (minGPT style) that the
job loop (dcgan.runs.loop), the CLI (dcgan.train) and the benchmarks attach to.

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
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from . import checkpoint as ckpt
from . import losses, models
from .augment import diff_augment, parse_policy
from .config import Config, ConfigError
from .data import ImageSet, to_model_range
from .hardware import dist_world, pick_device, pick_precision
from .history import History, thinned
from .images import grid_array
from .latent import generate, sample_z


def fixed_noise(cfg: Config) -> torch.Tensor:
    """The latents of a run's timeline grid: n_samples of them, from the seed after the run's."""
    return sample_z(cfg.train.n_samples, cfg.model.nz, seed=cfg.train.seed + 1)


def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    """Total L2 norm of the gradients, kept on the device (no host sync)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


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
        self.gan_loss = losses.make(t.loss, t.loss_reduction, t.gp_weight)
        # noise and flips: rank 0 draws exactly what a single process draws; other ranks differ
        self.rng = torch.Generator(device=self.device).manual_seed(t.seed + self.rank)
        # the epoch permutation must agree across ranks, so under DDP it has its own generator
        self._perm_rng = self.rng
        if self.world_size > 1:
            self._perm_rng = torch.Generator(device=self.device).manual_seed(t.seed)
        self.fixed_noise = fixed_noise(cfg).to(self.device)
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
        # n_critic > 1: G steps every n_critic-th step only, once the critic is near its optimum
        do_G = do_G and (part == "G" or (self.step_num + 1) % t.n_critic == 0)
        X = self._next_batch()
        b = X.shape[0]
        Z = torch.randn(b, self.cfg.model.nz, 1, 1, device=self.device, generator=self.rng)

        with self._autocast(), torch.set_grad_enabled(do_G):
            fake = self._G_step(Z)  # computed once, reused by both updates

        # (1) update D: with BCE, maximise log D(x) + log(1 - D(G(z))); see dcgan.losses
        self.opt_D.zero_grad(set_to_none=True)
        with self._autocast(), torch.set_grad_enabled(do_D):
            real_in, fake_in_D = self._augment(X), self._augment(fake.detach())
            real_logits = self._D_step(real_in).flatten()
            fake_logits = self._D_step(fake_in_D).flatten()
            gp = self.gan_loss.penalty(self._D_step, real_in, fake_in_D, self.rng) if do_D else 0.0
        loss_D = self.gan_loss.d_loss(real_logits.float(), fake_logits.float()) + gp
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
        loss_G = self.gan_loss.g_loss(fake_logits_2.float())
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
                        self.gan_loss.readout(real_logits.detach().float()),
                        self.gan_loss.readout(fake_logits.detach().float()),
                        self.gan_loss.readout(fake_logits_2.detach().float()),
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
        self._pending = []
        now = time.perf_counter()
        eps = self._window_examples / max(now - self._window_t0, 1e-9)
        self._window_t0, self._window_examples = now, 0
        self.history.add(rows, self.step_num, eps)  # NonFiniteError on a NaN/inf row
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
        self.timeline = thinned(self.timeline)[0]
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

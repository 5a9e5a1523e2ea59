"""Latent-space maths shared by the Streamlit pages and the Space: seeded sampling,
lerp/slerp interpolation, DCGAN-paper vector arithmetic and random walks."""

from __future__ import annotations

from contextlib import nullcontext

import torch


def sample_z(n: int, nz: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """n latent vectors (n, nz, 1, 1) from N(0, I), reproducible from a seed or Generator."""
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    return torch.randn(n, nz, 1, 1, generator=gen)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Straight line from z0 to z1; the midpoint's norm shrinks by about 1/sqrt(2)."""
    t = torch.as_tensor(t, dtype=z0.dtype).reshape(-1, *([1] * (z0.dim() - 1)))
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Great-circle path (Shoemake 1985), which keeps ||z|| near the prior's typical norm."""
    t = torch.as_tensor(t, dtype=z0.dtype).reshape(-1, *([1] * (z0.dim() - 1)))
    a, b = z0.flatten(), z1.flatten()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4:  # nearly parallel: slerp and lerp agree
        return lerp(z0, z1, t)
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * z0 + (torch.sin(t * omega) / so) * z1


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: str = "slerp"):
    """`steps` points from z0 to z1 inclusive, as a (steps, nz, 1, 1) batch."""
    if mode not in ("lerp", "slerp"):
        raise ValueError(f"mode must be 'lerp' or 'slerp', not {mode!r}.")
    t = torch.linspace(0, 1, max(2, int(steps)))
    z0, z1 = z0.reshape(1, -1, 1, 1), z1.reshape(1, -1, 1, 1)  # any single latent's shape
    return (slerp if mode == "slerp" else lerp)(z0, z1, t)


def vector_arithmetic(
    a: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    coeffs: tuple[float, float, float] = (1.0, -1.0, 1.0),
) -> torch.Tensor:
    """coeffs . (mean(A), mean(B), mean(C)): the paper's smiling woman - woman + man."""
    ma, mb, mc = (g.mean(0, keepdim=True) for g in (a, b, c))
    return coeffs[0] * ma + coeffs[1] * mb + coeffs[2] * mc


def jitter(z: torch.Tensor, n: int, scale: float = 0.25, seed: int | torch.Generator = 0):
    """n noisy copies of one z, as the paper shows around an arithmetic result."""
    noise = sample_z(n, z.shape[1], seed) * scale
    return z.reshape(1, -1, 1, 1) + noise


def random_walk(nz: int, frames: int, seed: int | torch.Generator = 0) -> torch.Tensor:
    """A smooth walk: slerp between a random anchor every 8 frames, `frames` points in all."""
    anchors = max(2, frames // 8 + 1)
    z = sample_z(anchors, nz, seed)
    per = max(2, round(frames / (anchors - 1)))
    path = [interpolate(z[i : i + 1], z[i + 1 : i + 2], per + 1)[:-1] for i in range(anchors - 1)]
    out = torch.cat(path + [z[-1:]])
    if len(out) < frames:
        out = torch.cat([out, out[-1:].repeat(frames - len(out), 1, 1, 1)])
    return out[:frames]


@torch.no_grad()
def generate(
    G: torch.nn.Module, z: torch.Tensor, batch: int = 256, precision: str = "fp32"
) -> torch.Tensor:
    """Images in [-1, 1] for latent batch z, in eval mode, on G's device.

    precision "bf16" runs G under bf16 autocast: on CPUs with AMX or AVX512-BF16 a 64-image
    batch takes a quarter to a half of the fp32 time, and pixels move by at most about 2/255
    (bench/generate_latency.py --ablation). "fp32" leaves a caller's own autocast in force.
    The images come back float32."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    bf16 = precision == "bf16" and device.type in ("cpu", "cuda")
    outs = []
    for i in range(0, len(z), batch):
        with torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext():
            outs.append(G(z[i : i + batch].to(device)).float().cpu())
    G.train(was_training)
    return torch.cat(outs)

"""The hardware a run trains on: device, precision, threads and torchrun's process group."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import torch
import torch.distributed as dist

from .config import ConfigError


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


# oneDNN ISA caps below the first with bf16 dot products: ONEDNN_MAX_CPU_ISA=AVX2 makes torch
# run a bf16-capable CPU like a laptop without it (the benches' stand-in for one)
NO_BF16_ISAS = {
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
}


@cache
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 matmul (AVX512-BF16 or AMX) and oneDNN may use it."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in NO_BF16_ISAS:
        return False
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


def default_threads() -> int:
    """All cores but one (left to the server and the browser); OMP_NUM_THREADS overrides."""
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


def set_thread_policy(n: int | None = None) -> int:
    """Apply n threads (default: default_threads()) to this process, once, at its start;
    returns the count."""
    n = n or default_threads()
    torch.set_num_threads(n)
    return n

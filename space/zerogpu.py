"""Where the Space runs and what it may use there: ZeroGPU or CPU hardware, the threads its CPU
quota allows, and the one GPU function (a visitor's training run) with its duration.

ZeroGPU, by the book (huggingface.co/docs/hub/spaces-zerogpu and the `spaces` package's
spaces/zero sources):

- A function decorated with `spaces.GPU` runs in a worker process forked from the server, with
  its arguments and every value it yields pickled across; only a gr.Error raised there reaches
  the visitor as itself, anything else reads "ZeroGPU worker error". So every expected failure
  is turned into a gr.Error inside the GPU function.
- A call asks for a duration; it is refused when the visitor has less quota left than that,
  and the task may be ended once it runs past it. Training asks for exactly what it needs
  (train_duration) and stops itself early enough to export inside the call.
- Sampling is not a GPU function: the shipped generators are about 2 MB, and sampling them on
  the server's CPU answers in tens of milliseconds, with no GPU queue, no worker start and no
  quota spent on a slider move (bench/space_latency.py --gpu-call measures both paths).
  Nothing is placed on cuda at module level because no GPU function uses a model built
  before the call: the training run builds its networks inside the call.
- The worker is forked from a server that has run CPU maths on several OpenMP threads, and
  such a child hangs on its first CPU matmul unless it drops to one thread first (measured
  with torch 2.14 CPU here), so the GPU function does that before anything else.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import gradio as gr
import torch

from dcgan import live, runs
from dcgan.i18n import _

try:  # the real `spaces` package: on ZeroGPU it lends a GPU per call, elsewhere a no-op
    import spaces
    import spaces.config
except ImportError:  # a plain `pip install gradio` machine
    spaces = None
# the package's own switch (SPACES_ZERO_GPU, set by Hugging Face on ZeroGPU hardware)
ZERO_GPU = spaces is not None and spaces.config.Config.zero_gpu

# The parts of a training call's duration, in seconds. WORKER_START_S (the fork and the CUDA
# context before our function runs) cannot be measured without ZeroGPU; space/gpu_check.sh
# measures the CUDA part on a real GPU. LOAD_S covers the shapes' drawing, the networks and the
# first step (bench/space_latency.py --train --zerogpu measures it: about 3 s on this 2-core
# CPU, with a busy machine's margin); a run still loading then trains for less. EXPORT_S is the
# stop, the final generator's export and its last grid (about 1 s here).
WORKER_START_S = 10
LOAD_S = 15
EXPORT_S = 10
# the visitor's training seconds: a minute on either hardware; on ZeroGPU the call asks for
# those plus the margins above, so an anonymous visitor's 2 minutes a day buy one minute's run
TRAIN_SECONDS = live.SECONDS


def cpu_quota(cpu_max: str | Path = "/sys/fs/cgroup/cpu.max") -> int:
    """The CPUs this process may really use: its affinity, capped by the cgroup's cpu.max
    quota (a container's share), which os.cpu_count() ignores."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    try:
        quota, period = Path(cpu_max).read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 file, or one we cannot read: affinity alone
        pass
    return max(1, n)


def gpu(fn, **kw):
    """spaces.GPU on ZeroGPU hardware; the package returns fn unchanged everywhere else."""
    return spaces.GPU(fn, **kw) if spaces is not None else fn


def train_duration(source: str, folder: str, seconds: int, cap: int | None = None) -> int:
    """The GPU seconds a training call asks for: the visitor's seconds plus the margins, so the
    export always lands inside the call (spaces.GPU calls this with the function's arguments)."""
    return int(WORKER_START_S + LOAD_S + seconds + EXPORT_S)


def _train_on_gpu(source: str, folder: str, seconds: int, cap: int | None = None):
    """The run inside ZeroGPU's GPU call: it trains in this (worker) process and streams
    live.Frame values (numbers and a uint8 array), which pickle back to the server.

    The run is stopped by the call's own clock too: LOAD_S + seconds after the call began, so a
    slow load shortens the training instead of pushing the export past the call's end.
    """
    torch.set_num_threads(1)  # a forked child of a multi-threaded server: see the docstring
    stop_by = time.monotonic() + LOAD_S + seconds
    stopping = False
    frames = live.train_here(source, folder, seconds, max_steps=cap)
    try:
        for f in frames:
            if not f.ended and not stopping and time.monotonic() > stop_by:
                stopping = live.stop(folder)
            yield f
    except runs.JobBusyError as e:
        raise gr.Error(
            _("Your previous run is still stopping; press Train again in a moment.")
        ) from e
    except gr.Error:
        raise
    except Exception as e:  # the visitor sees this message, not "ZeroGPU worker error"
        raise gr.Error(_("The run failed: {error}").format(error=f"{type(e).__name__}: {e}")) from e
    finally:
        frames.close()


# decorated once, at import, as ZeroGPU requires; a no-op off ZeroGPU (the package says so)
train_on_gpu = gpu(_train_on_gpu, duration=train_duration)

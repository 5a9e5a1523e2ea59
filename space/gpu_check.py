"""The Space's ZeroGPU figures that need a real GPU, measured the way ZeroGPU runs a call: the
server process never touches CUDA, and each GPU call runs in a child forked from it.

    bash space/gpu_check.sh          (finds a python with CUDA torch; installs nothing)

It prints one line per figure, and a JSON line at the end:
1. worker_start_s: fork, then the child's first CUDA operation (the CUDA context). This is the
   part of zerogpu.WORKER_START_S that only a GPU shows (ZeroGPU adds its scheduler's round
   trip, which no machine but Hugging Face's can show).
2. sampling: a 16-image grid of the shipped anime-faces generator (about 2 MB) on the server's
   CPU (1 thread, as each of the Space's two sampling slots has) against the same grid in the
   forked child on CUDA, first call (with the copy to the GPU) and warm p50/p95. The Space
   samples on the CPU; this says what a GPU call would have cost at best.
3. training: a 10-second live run (dcgan.live.train_here, the GPU function's body) in the
   forked child on CUDA: time to the first frame (zerogpu.LOAD_S's share), steps per second,
   and the stop-and-export time (zerogpu.EXPORT_S's share), with the exported file checked.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from loadtest.common import percentile  # noqa: E402 - standard library only

DEVICE = os.environ.get("GPU_CHECK_DEVICE", "cuda")  # "cpu" dry-runs the script without a GPU


def pct(values: list[float], q: float) -> float:
    """The q-th percentile, to 0.01 (loadtest.common's, as every bench here reports)."""
    return round(percentile(values, q), 2)


def in_child(fn):
    """Run fn() in a forked child (as ZeroGPU's worker) and return what it returns (JSON)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = {"ok": fn()}
        except BaseException as e:  # reported, not raised: the parent prints it
            out = {"error": f"{type(e).__name__}: {e}"}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    got = json.loads(data or b'{"error": "the child died"}')
    if "error" in got:
        raise RuntimeError(got["error"])
    return got["ok"]


def main() -> int:
    import torch

    from dcgan import latent, pretrained
    from dcgan.images import grid_image

    figures: dict = {"torch": torch.__version__, "python": sys.version.split()[0]}
    torch.set_num_threads(1)
    name = pretrained.default_name()
    G_cpu, cfg, _ = pretrained.load(name)

    def grid(G, seed):
        with torch.inference_mode():
            return grid_image(latent.generate(G, latent.sample_z(16, cfg.nz, seed)), nrow=4)

    cpu = []
    for i in range(31):
        t0 = time.perf_counter()
        grid(G_cpu, i)
        cpu.append((time.perf_counter() - t0) * 1e3)
    figures["sample16_cpu_ms"] = {"p50": pct(cpu[1:], 50), "p95": pct(cpu[1:], 95)}
    c50, c95 = pct(cpu[1:], 50), pct(cpu[1:], 95)
    print(f"sampling on the server CPU (1 thread): p50 {c50} ms, p95 {c95} ms")

    def gpu_sampling():
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        torch.zeros(1, device=DEVICE)
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter() - t0
        t1 = time.perf_counter()
        G = G_cpu.to(DEVICE)  # what ZeroGPU's move does for a model placed at module level
        grid(G, 0)
        first = (time.perf_counter() - t1) * 1e3
        warm = []
        for i in range(30):
            t2 = time.perf_counter()
            grid(G, i)
            warm.append((time.perf_counter() - t2) * 1e3)
        return {
            "worker_start_s": round(start, 2),
            "device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE,
            "first_ms": round(first, 1),
            "warm_p50_ms": pct(warm, 50),
            "warm_p95_ms": pct(warm, 95),
        }

    g = in_child(gpu_sampling)
    figures["gpu_sampling"] = g
    print(f"forked worker's CUDA start: {g['worker_start_s']} s on {g['device']}")
    print(
        f"sampling in the worker on CUDA: first {g['first_ms']} ms (with the copy), "
        f"warm p50 {g['warm_p50_ms']} ms, p95 {g['warm_p95_ms']} ms"
    )

    def gpu_training():
        from dcgan import live
        from dcgan.checkpoint import load_generator

        torch.set_num_threads(1)
        t0 = time.perf_counter()
        first = stop_seen = None
        last = None
        with tempfile.TemporaryDirectory() as tmp:
            for f in live.train_here("shapes", tmp, 10, poll=0.05):
                now = time.perf_counter() - t0
                if first is None and f.status != "loading":
                    first = now
                if stop_seen is None and f.trained >= 10:
                    stop_seen = now
                last = f
            end = time.perf_counter() - t0
            G, c, _ = load_generator(last.generator)
            return {
                "first_frame_s": round(first or end, 2),
                "steps": last.step,
                "steps_per_s": round(last.step / max(last.trained, 1e-9), 1),
                "export_s": round(end - (stop_seen or end), 2),
                "wall_s": round(end, 2),
                "exported_image_size": c.image_size,
                "status": last.status,
            }

    t = in_child(gpu_training)
    figures["gpu_training"] = t
    print(
        f"10 s live run in the worker on CUDA: first frame after {t['first_frame_s']} s, "
        f"{t['steps']} steps ({t['steps_per_s']}/s), stop and export {t['export_s']} s, "
        f"{t['wall_s']} s in all, {t['status']}"
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

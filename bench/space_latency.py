"""Per-endpoint latency of the Space, end to end: HTTP, the queue, the checks, the generator
and the PNG, as a visitor's browser or gradio_client sees it.

The app (space/app.py) is launched on a free localhost port with the threads it sets for
itself on a Space, then each endpoint is called --repeats times after one warm-up call, one
request at a time; the figures are the median and the 90th percentile in milliseconds. Then
--clients clients call /sample at once, and the wall time until all have their answers is
reported.

    python -m bench.space_latency [--checkpoints checkpoints] [--model NAME] [--repeats 20]
                                  [--clients 8] [--json]

With --train it measures the Train tab instead, against `python space/app.py` started on a
free port exactly as a Space starts it: /sample (16 images) latency with the Space idle, then
one visitor's --seconds run streamed through gradio_client while a second client keeps calling
/sample. It reports the time from Train to the first streamed grid, the grids received per
second, /sample p50/p95 idle and during the run, and the SWD (dcgan.metrics, x 10^3, 2,048
against 2,048 shapes, as bench.classroom computes it) of the generator the visitor downloads.
--no-spare starts the Space without its waiting training process, for the cold-start figure.

    python -m bench.space_latency --train [--seconds 60] [--no-spare] [--zerogpu] [--json]

--zerogpu runs the Space under space/zerogpu_fake.py (the real `spaces` package, a fake GPU
scheduler): the run is one GPU call in a forked worker, sampling stays in the server.

--gpu-call answers "sample on the CPU in the server, or in a GPU call?" for ZeroGPU: a 16-image
grid of the shipped generator timed both ways in one process under the ZeroGPU fake. The CPU
path runs in a request thread as Gradio's would; the GPU path is spaces.GPU(duration=5) around
the same function with the generator placed on "cuda" at module level, so the real wrapper
forks its worker, pickles the arguments and the image, and calls the (fake) scheduler. What
it cannot see: the real scheduler's round trip and queue, the worker's CUDA start and the
copies to the GPU (space/gpu_check.sh measures those on a GPU).

    python -m bench.space_latency --gpu-call [--repeats 30] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from bench import parser
from loadtest.net import free_port

ROOT = Path(__file__).resolve().parents[1]


def calls(model: str, seed: int = 0) -> dict[str, tuple]:
    """Each public endpoint with the arguments the page uses by default, at `seed` (a fresh
    seed per call: /interp, /frame and /pool keep their answers, and a repeat would time that)."""
    a, b = seed + 1, seed + 2
    return {
        "sample (16 images)": ("/sample", (model, seed, 16)),
        "sample (64 images)": ("/sample", (model, seed, 64)),
        "interp (9 images)": ("/interp", (model, a, b, "slerp", 9)),
        "frame (1 image)": ("/frame", (model, a, b, "slerp", 0.5)),
        "pool (24 images)": ("/pool", (model, seed, "24")),
        "arithmetic (13 images)": (
            "/arithmetic",
            (model, seed, "24", "0, 1, 2", "3, 4, 5", "6, 7, 8", 1, -1, 1, 0.25),
        ),
        "relu (plot)": ("/relu", (0.2, False)),
        "shapes (text + plot)": ("/shapes", ("ConvTranspose2d", 16, 4, 2, 1, 0, 1)),
        "model (page open: all of it)": (
            "/model",
            (model, seed, 16, a, b, "slerp", 9, 0.5, seed, "24", "0, 1, 2", "3, 4, 5", "6, 7, 8")
            + (1, -1, 1, 0.25),
        ),
    }


def cpu_flags() -> str:
    """The CPU features that decide the precision: bf16 and the widest vector unit."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    have = [f for f in ("avx512_bf16", "amx_bf16", "avx512f", "avx2") if f in flags]
    return ", ".join(have) or "none of avx2/avx512/bf16"


def train_bench(a: argparse.Namespace) -> dict:
    """Stream one Train run through gradio_client while another client samples."""
    import tempfile

    import torch
    from gradio_client import Client

    from dcgan import runs
    from dcgan.checkpoint import load_generator, read_metadata
    from dcgan.data import load
    from dcgan.metrics import generated_images, swd
    from loadtest.common import free_port, load_note, percentile, python, server

    def p(values, q):
        return round(percentile(values, q) * 1e3, 1)

    def sample_times(client, n=None, until=None) -> list[float]:
        times = []
        i = 0
        while (n is not None and i < n) or (until is not None and not until()):
            t0 = time.perf_counter()
            client.predict(a.model, i, 16, api_name="/sample")
            times.append(time.perf_counter() - t0)
            i += 1
        return times

    with tempfile.TemporaryDirectory(prefix="dcgan-space-train-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        env = {
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "DCGAN_CHECKPOINTS": str(a.checkpoints),
            "DCGAN_SPACE_SESSIONS": str(Path(tmp) / "sessions"),
            "DCGAN_SPACE_SPARE": "0" if a.no_spare else "1",
        }
        load_before = load_note()
        cmd = [python(), "space/zerogpu_fake.py" if a.zerogpu else "space/app.py"]
        with server(cmd, env, url, Path(tmp) / "space.log"):
            sampler, visitor = Client(url, verbose=False), Client(url, verbose=False)
            sample_times(sampler, 3)  # warm-up
            idle = sample_times(sampler, a.repeats)  # (the spare imports meanwhile)
            grids: list[float] = []
            t0 = time.perf_counter()
            job = visitor.submit("shapes", a.seconds, api_name="/train")

            def watch():
                for out in job:
                    if isinstance(out[1], str):  # a new grid; a skipped one is not a path
                        grids.append(time.perf_counter() - t0)

            watcher = threading.Thread(target=watch)
            watcher.start()
            while not grids and not job.done():  # sampling "while a run trains" starts here
                time.sleep(0.05)
            busy = sample_times(sampler, until=job.done)
            watcher.join()
            wall = time.perf_counter() - t0
            final = job.outputs()[-1]
            status = {}
            for d in (Path(tmp) / "sessions").glob("*/run*"):
                status = runs.read_json(d / runs.STATUS) or status
            path = final[3]["value"]
            G, cfg, _ = load_generator(path)
            meta = read_metadata(path)
            real_set = load("shapes", cfg.image_size)
            gen = torch.Generator().manual_seed(0)
            real = real_set.images[torch.randperm(len(real_set), generator=gen)[: a.n]]
            score = swd(generated_images(G, cfg.nz, a.n, seed=1), real, seed=0)["mean"]
    return {
        "seconds": a.seconds,
        "hardware": "zerogpu (fake)" if a.zerogpu else "cpu",
        "spare": not a.no_spare and not a.zerogpu,
        "first_grid_s": round(grids[0], 2) if grids else None,
        "grids": len(grids),
        "grids_per_s": round((len(grids) - 1) / max(grids[-1] - grids[0], 1e-9), 2)
        if len(grids) > 1
        else None,
        "run_wall_s": round(wall, 1),
        "final_step": int(meta.get("step", 0)),
        "examples_per_sec": round(status.get("examples_per_sec", 0.0)),
        "precision": status.get("precision"),
        "threads": status.get("threads"),
        "swd": round(score, 1),
        "sample16_idle_ms": {"p50": p(idle, 50), "p95": p(idle, 95), "n": len(idle)},
        "sample16_training_ms": {"p50": p(busy, 50), "p95": p(busy, 95), "n": len(busy)},
        "cpu_flags": cpu_flags(),
        "machine": f"{load_before} at the start, {load_note()} at the end",
    }


def gpu_call_bench(a: argparse.Namespace) -> dict:
    """A 16-image grid on the server's CPU vs in a spaces.GPU call, under the ZeroGPU fake."""
    from concurrent.futures import ThreadPoolExecutor

    sys.path.insert(0, str(ROOT / "space"))
    import zerogpu_fake

    zerogpu_fake.install()
    import spaces
    import torch

    from dcgan import latent, pretrained
    from dcgan.images import grid_image
    from loadtest.common import percentile

    torch.set_num_threads(1)  # what each of the Space's two sampling slots gets on 2 CPUs
    name = a.model or pretrained.default_name(a.checkpoints)
    G_cpu, cfg, _ = pretrained.load(name, folder=a.checkpoints)
    G_gpu, _, _ = pretrained.load(name, device="cuda", folder=a.checkpoints)  # module level

    def grid(G, seed):
        with torch.inference_mode():
            return grid_image(latent.generate(G, latent.sample_z(16, cfg.nz, seed)), nrow=4)

    on_gpu = spaces.GPU(duration=5)(lambda seed: grid(G_gpu, seed))

    def timed(fn, n):
        out = []
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    with ThreadPoolExecutor(1) as pool:  # a request thread, as Gradio runs handlers
        cpu = pool.submit(timed, lambda i: grid(G_cpu, i), a.repeats + 1).result()[1:]
        first = pool.submit(timed, on_gpu, 1).result()[0]
        gpu = pool.submit(timed, on_gpu, a.repeats).result()

    def q(v, pct):
        return round(percentile(v, pct), 1)

    return {
        "model": name,
        "cpu_in_server_ms": {"p50": q(cpu, 50), "p95": q(cpu, 95), "n": len(cpu)},
        "gpu_call_first_ms": round(first, 1),
        "gpu_call_warm_ms": {"p50": q(gpu, 50), "p95": q(gpu, 95), "n": len(gpu)},
        "cpu_flags": cpu_flags(),
    }


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--checkpoints": dict(type=Path, default=ROOT / "checkpoints"),
    "--model": dict(help="generator name (default: the Space's default)"),
    "--repeats": dict(type=int, default=20),
    "--clients": dict(type=int, default=8),
    "--train": dict(action="store_true", help="measure the Train tab instead"),
    "--seconds": dict(type=int, default=60, help="--train: the run's length (5-60)"),
    "--no-spare": dict(action="store_true", help="--train: no waiting process"),
    "--n": dict(type=int, default=2048, help="--train: images per set for the SWD"),
    "--zerogpu": dict(action="store_true", help="--train under the ZeroGPU fake"),
    "--gpu-call": dict(action="store_true", help="CPU sampling vs a GPU call"),
}


def main(argv: list[str] | None = None) -> int:
    """Launch the Space locally and time every endpoint."""
    p = parser("bench.space_latency", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if a.gpu_call:
        r = gpu_call_bench(a)
        if a.json:
            print(json.dumps(r))
            return 0
        c, g = r["cpu_in_server_ms"], r["gpu_call_warm_ms"]
        print(f"16-image grid of {r['model']}, 1 torch thread; CPU flags {r['cpu_flags']}")
        print(f"  on the server's CPU:          p50 {c['p50']} ms, p95 {c['p95']} ms (n={c['n']})")
        print(f"  in a spaces.GPU call (fake):  first {r['gpu_call_first_ms']} ms (fork), "
              f"then p50 {g['p50']} ms, p95 {g['p95']} ms (n={g['n']})")  # fmt: skip
        return 0
    if a.train:
        sys.path.insert(0, str(ROOT))
        if a.model is None:
            from dcgan import pretrained

            a.model = pretrained.default_name(a.checkpoints)
        r = train_bench(a)
        if a.json:
            print(json.dumps(r))
            return 0
        idle, busy = r["sample16_idle_ms"], r["sample16_training_ms"]
        print(
            f"Space Train tab ({r['hardware']}): {r['seconds']} s run on the built-in shapes "
            f"({'with' if r['spare'] else 'without'} the waiting spare process)"
        )
        print(f"  CPU flags: {r['cpu_flags']}; run precision {r['precision']}, "
              f"{r['threads']} trainer thread(s); {r['machine']}")  # fmt: skip
        print(f"  Train to first streamed grid: {r['first_grid_s']} s")
        print(f"  grids received: {r['grids']}, {r['grids_per_s']} per second")
        print(
            f"  run: step {r['final_step']}, {r['examples_per_sec']} examples/s at the end, "
            f"SWD {r['swd']} (x10^3, {a.n} vs {a.n})"
        )
        print(
            f"  /sample (16) idle: p50 {idle['p50']} ms, p95 {idle['p95']} ms (n={idle['n']}); "
            f"while training: p50 {busy['p50']} ms, p95 {busy['p95']} ms (n={busy['n']}); "
            f"p95 ratio {busy['p95'] / idle['p95']:.2f}"
        )
        return 0

    import torch
    from gradio_client import Client

    from dcgan import pretrained

    pretrained.CHECKPOINT_DIR = a.checkpoints
    if not pretrained.available():
        print(f"error: no generators in {a.checkpoints}/ (*.safetensors).", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("space_app", ROOT / "space" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    threads = max(1, app.cpu_quota() // app.CONCURRENCY)  # what app.py's main sets
    torch.set_num_threads(threads)
    port = free_port()
    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    model = a.model or pretrained.default_name()
    client = Client(url, verbose=False)
    rows = {}
    fresh = 0  # a seed no earlier call used
    for label, (api, args) in calls(model).items():
        client.predict(*args, api_name=api)  # warm-up
        times = []
        for _ in range(a.repeats):
            fresh += 10
            args = calls(model, fresh)[label][1]
            t0 = time.perf_counter()
            client.predict(*args, api_name=api)
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        rows[label] = {
            "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        }

    clients = [Client(url, verbose=False) for _ in range(a.clients)]
    answers = []

    def one(c, seed):
        answers.append(c.predict(model, seed, 16, api_name="/sample"))

    t0 = time.perf_counter()
    workers = [threading.Thread(target=one, args=(c, i)) for i, c in enumerate(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    together = (time.perf_counter() - t0) * 1e3
    app.demo.close()

    result = {
        "model": model,
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "concurrency": app.CONCURRENCY,
        "endpoints": rows,
        f"{a.clients}_clients_sample16_wall_ms": round(together, 1),
        "answers": len(answers),
    }
    if a.json:
        print(json.dumps(result))
        return 0
    print(
        f"Space latency, model {model}, {os.cpu_count()} CPUs, {threads} torch threads per "
        f"request, {app.CONCURRENCY} requests at once; median / p90 of {a.repeats} calls"
    )
    for label, r in rows.items():
        print(f"  {label:30s} {r['median_ms']:8.1f} ms {r['p90_ms']:8.1f} ms")
    print(
        f"  {a.clients} clients x /sample (16) at once: all {len(answers)} answered in "
        f"{together:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

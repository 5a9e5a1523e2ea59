"""Per-endpoint latency of the Space, end to end: HTTP, the queue, the checks, the generator
and the PNG, as a visitor's browser or gradio_client sees it.

The app (space/app.py) is launched on a free localhost port with the threads it sets for
itself on a Space, then each endpoint is called --repeats times after one warm-up call, one
request at a time; the figures are the median and the 90th percentile in milliseconds. Then
--clients clients call /sample at once, and the wall time until all have their answers is
reported.

    python -m bench.space_latency [--checkpoints checkpoints] [--model NAME] [--repeats 20]
                                  [--clients 8] [--json]
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

from loadtest.net import free_port

ROOT = Path(__file__).resolve().parents[1]


def calls(model: str) -> dict[str, tuple]:
    """Each public endpoint with the arguments the page uses by default."""
    return {
        "sample (16 images)": ("/sample", (model, 0, 16)),
        "sample (64 images)": ("/sample", (model, 0, 64)),
        "interp (9 images)": ("/interp", (model, 1, 2, "slerp", 9)),
        "frame (1 image)": ("/frame", (model, 1, 2, "slerp", 0.5)),
        "pool (24 images)": ("/pool", (model, 0, "24")),
        "arithmetic (13 images)": (
            "/arithmetic",
            (model, 0, "24", "0, 1, 2", "3, 4, 5", "6, 7, 8", 1, -1, 1, 0.25),
        ),
        "relu (plot)": ("/relu", (0.2, False)),
        "shapes (text + plot)": ("/shapes", ("ConvTranspose2d", 16, 4, 2, 1, 0, 1)),
        "model (page open: all of it)": (
            "/model",
            (model, 0, 16, 1, 2, "slerp", 9, 0.5, 0, "24", "0, 1, 2", "3, 4, 5", "6, 7, 8")
            + (1, -1, 1, 0.25),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Launch the Space locally and time every endpoint."""
    p = argparse.ArgumentParser(prog="python -m bench.space_latency", description=__doc__)
    p.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    p.add_argument("--model", help="generator name (default: the Space's default)")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

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
    threads = max(1, (os.cpu_count() or 1) // app.CONCURRENCY)  # what app.py's main sets
    torch.set_num_threads(threads)
    port = free_port()
    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    model = a.model or pretrained.default_name()
    client = Client(url, verbose=False)
    rows = {}
    for label, (api, args) in calls(model).items():
        client.predict(*args, api_name=api)  # warm-up
        times = []
        for _ in range(a.repeats):
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

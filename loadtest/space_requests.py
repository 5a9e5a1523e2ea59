"""A burst on the Space: N requests at once through gradio_client, each answered or refused.

    python -m loadtest.space_requests --requests 50 [--api sample] [--url URL]

Starts `python space/app.py` on 127.0.0.1 (unless --url points at a running one) with the
shipped generators, or, when checkpoints/ holds none yet, with an untrained stand-in of the
same architecture (ngf 32, 64x64): sampling costs the same whatever the weights are.

N threads wait at a barrier, then each sends one request. A request passes when it returns
an image, or when the queue refuses it cleanly ("queue is full"); anything else (an error, a
hang past --timeout) fails the run. Latency is from send to answer. One more request after
the burst checks the Space still answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import ROOT, free_port, load_note, log_problems, percentile, python, server

APIS = {
    # api_name: (arguments after the generator name, what it costs)
    "sample": (lambda i, a: (i, a.count), "a grid of --count samples"),
    "interp": (lambda i, a: (i, i + 1, "slerp", 8), "an 8-image slerp strip and a plot"),
    "frame": (lambda i, a: (i, i + 1, "lerp", 0.5), "one interpolated image"),
}


def stand_in_generators(folder: Path) -> str:
    """An untrained generator with the shipped ones' architecture, for a repo without any."""
    sys.path.insert(0, str(ROOT))
    from dcgan import checkpoint as ckpt
    from dcgan.config import ModelConfig
    from dcgan.models import build

    cfg = ModelConfig(image_size=64, ngf=32, ndf=32, d_first_bn=False, init="paper")
    G, _ = build(cfg, seed=0)
    ckpt.export_generator(G, cfg, folder / "stand-in-64px.safetensors", meta={"note": "untrained"})
    return "stand-in-64px"


def burst(url: str, name: str, a: argparse.Namespace) -> dict:
    """Send a.requests requests at once; classify and time each."""
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False, max_workers=a.requests + 4)
    args_of, _ = APIS[a.api]
    results: list[dict] = [{} for _ in range(a.requests)]
    gate = threading.Barrier(a.requests)

    def one(i: int) -> None:
        gate.wait(timeout=60)
        t0 = time.perf_counter()
        try:
            job = client.submit(name, *args_of(i, a), api_name=f"/{a.api}")
            out = job.result(timeout=a.timeout)
            ok = out is not None and (not isinstance(out, tuple | list) or all(out))
            results[i] = {"kind": "answered" if ok else "empty", "secs": time.perf_counter() - t0}
        except TimeoutError:
            results[i] = {"kind": "timeout", "secs": time.perf_counter() - t0}
        except Exception as e:  # classified below: only a queue refusal is a clean outcome
            text = f"{type(e).__name__}: {e}"
            kind = "refused" if "queue is full" in text.lower() else "error"
            results[i] = {"kind": kind, "secs": time.perf_counter() - t0, "error": text[:300]}

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(a.requests)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.timeout + 120)
    wall = time.perf_counter() - t0
    for r in results:
        r.setdefault("kind", "timeout")
    # the Space must still answer once the burst is over
    t1 = time.perf_counter()
    try:
        client.predict(name, *args_of(0, a), api_name=f"/{a.api}")
        after = {"kind": "answered", "secs": time.perf_counter() - t1}
    except Exception as e:
        after = {"kind": "error", "secs": time.perf_counter() - t1, "error": str(e)[:300]}
    client.close()
    return {"results": results, "wall": wall, "after": after}


def report(r: dict, a: argparse.Namespace, log_lines: list[str], note: str) -> int:
    """Print the figures; 0 when every request was answered or cleanly refused."""
    res = r["results"]
    by: dict[str, list[float]] = {}
    for x in res:
        by.setdefault(x["kind"], []).append(x["secs"])
    answered = by.get("answered", [])
    refused = by.get("refused", [])
    print(
        f"space: {r['url']}, generator {r['generator']}, api /{a.api} "
        f"({APIS[a.api][1]}{f', count {a.count}' if a.api == 'sample' else ''})"
    )
    print(f"machine: {note}")
    print(
        f"{a.requests} requests at once: {len(answered)} answered, {len(refused)} refused by "
        f"the queue, {len(by.get('error', []))} errors, {len(by.get('timeout', []))} timeouts, "
        f"{len(by.get('empty', []))} empty answers; burst over in {r['wall']:.1f} s"
    )
    print(
        f"latency of answered requests: p50 {percentile(answered, 50):.2f} s, "
        f"p95 {percentile(answered, 95):.2f} s, max {max(answered, default=float('nan')):.2f} s"
    )
    if refused:
        print(f"refusals came back in p50 {percentile(refused, 50):.2f} s")
    for x in res:
        if x["kind"] == "error":
            print(f"  error: {x['error']}")
            break
    print(f"after the burst: {r['after']['kind']} in {r['after']['secs']:.2f} s")
    print(f"server log lines with Traceback/Error/Exception: {len(log_lines)}")
    for line in log_lines[:10]:
        print(f"    {line}")
    ok = (
        len(answered) + len(refused) == a.requests
        and answered
        and r["after"]["kind"] == "answered"
        and not log_lines
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m loadtest.space_requests", description=__doc__.split("\n")[0]
    )
    p.add_argument("--requests", type=int, default=50, help="requests at once (1 to 500)")
    p.add_argument("--api", choices=sorted(APIS), default="sample")
    p.add_argument("--count", type=int, default=64, help="samples per /sample request (1-64)")
    p.add_argument("--timeout", type=float, default=300, help="seconds one request may take")
    p.add_argument("--url", help="a running Space (default: start space/app.py on a free port)")
    p.add_argument("--generator", help="generator name on --url (default: the first shipped)")
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args(argv)
    if not 1 <= a.requests <= 500 or not 1 <= a.count <= 64:
        p.error("--requests must be 1-500 and --count 1-64")
    note_before = load_note()
    sys.path.insert(0, str(ROOT))
    from dcgan import pretrained

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dcgan-space-load-") as tmp:
        folder = pretrained.CHECKPOINT_DIR
        names = list(pretrained.available())
        if a.url:
            url, name = a.url.rstrip("/"), a.generator or (names[0] if names else "")
            r = burst(url, name, a)
        else:
            if not names:
                folder = Path(tmp) / "generators"
                folder.mkdir()
                names = [stand_in_generators(folder)]
            name = a.generator or pretrained.default_name(folder) or names[0]
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log = Path(tmp) / "space.log"
            env = {
                "GRADIO_SERVER_NAME": "127.0.0.1",
                "GRADIO_SERVER_PORT": str(port),
                "GRADIO_ANALYTICS_ENABLED": "False",
                "DCGAN_CHECKPOINTS": str(folder),
            }
            with server([python(), "space/app.py"], env, url + "/", log):
                r = burst(url, name, a)
            lines = log_problems(log)
    r.update(
        url=url, generator=name, machine=f"{note_before} at the start, {load_note()} at the end"
    )
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))
    return report(r, a, lines, r["machine"])


if __name__ == "__main__":
    sys.exit(main())

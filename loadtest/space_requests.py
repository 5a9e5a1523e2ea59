"""A burst on the Space: N requests at once through gradio_client, each answered or refused.

    python -m loadtest.space_requests --requests 50 [--api sample] [--url URL]
    python -m loadtest.space_requests --scenario mixed [--trainers 2] [--samplers 20]
    python -m loadtest.space_requests --scenario explorers --visitors 30 --seconds 60 [--json F]

Starts `python space/app.py` on 127.0.0.1 (unless --url points at a running one) with the
shipped generators, or, when checkpoints/ holds none yet, with an untrained stand-in of the
same architecture (ngf 32, 64x64): sampling costs the same whatever the weights are.

N threads wait at a barrier, then each sends one request. A request passes when it returns
an image, or when the queue refuses it cleanly ("queue is full"); anything else (an error, a
hang past --timeout) fails the run. Latency is from send to answer. One more request after
the burst checks the Space still answers.

--scenario mixed: --trainers visitors press Train (a --train-seconds run on the shapes) and
--samplers visitors each ask for --samples-each grids, all at once, every visitor with a
session of their own. Training has its own queue (one run at a time on CPU), so a second
trainer waits in it; it passes when it saw its place in the queue (or ran at once), then
streamed its run to the end with a generator to download. A sampling request passes when it
is answered or cleanly refused; any error, hang or server traceback fails the run.

--scenario explorers: a class exploring the Interpolation and Vector arithmetic tabs
(loadtest/space_explorers.py): --visitors visitors, each moving a slider or changing a seed
every 1-3 s for --seconds; it reports latency and queue-wait percentiles and judges them (p95
<= 0.5 s for 30 visitors, <= 0.15 s for 1, no errors), exiting 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import space_explorers
from .common import (
    ROOT,
    cpu_seconds,
    free_port,
    load_note,
    log_problems,
    percentile,
    python,
    server,
)

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


def mixed(url: str, name: str, a: argparse.Namespace) -> dict:
    """Trainers and samplers at once, each with a session of their own."""
    from gradio_client import Client

    people = a.trainers + a.samplers
    gate = threading.Barrier(people)
    trainers: list[dict] = [{} for _ in range(a.trainers)]
    samples: list[dict] = []
    lock = threading.Lock()

    def train(i: int) -> None:
        c = Client(url, verbose=False)
        gate.wait(timeout=120)
        t0 = time.perf_counter()
        r = trainers[i]
        r.update(kind="error", queue_ranks=[], grids=0)
        try:
            job = c.submit("shapes", a.train_seconds, api_name="/train")

            def places() -> None:  # the place in the queue the page shows, while it waits
                while not job.done() and "first_grid_s" not in r:
                    st = job.status()
                    if getattr(st, "rank", None) is not None and "QUEUE" in str(st.code):
                        r["queue_ranks"].append(st.rank)
                    time.sleep(0.25)

            watcher = threading.Thread(target=places, daemon=True)
            watcher.start()
            for out in job:
                if isinstance(out[1], str):
                    r["grids"] += 1
                    r.setdefault("first_grid_s", time.perf_counter() - t0)
            final = job.outputs()[-1]
            done = "Done" in final[0] and isinstance(final[3], dict) and final[3].get("value")
            r.update(kind="finished" if done else "empty", secs=time.perf_counter() - t0)
        except Exception as e:  # classified: a trainer must finish, nothing else passes
            r.update(error=f"{type(e).__name__}: {e}"[:300], secs=time.perf_counter() - t0)
        finally:
            c.close()

    def sample(i: int) -> None:
        c = Client(url, verbose=False, download_files=False)
        gate.wait(timeout=120)
        for k in range(a.samples_each):
            t0 = time.perf_counter()
            try:
                c.predict(name, i * 100 + k, a.count, api_name="/sample")
                x = {"kind": "answered", "secs": time.perf_counter() - t0}
            except Exception as e:
                text = f"{type(e).__name__}: {e}"
                kind = "refused" if "queue is full" in text.lower() else "error"
                x = {"kind": kind, "secs": time.perf_counter() - t0, "error": text[:300]}
            with lock:
                samples.append(x)
        c.close()

    threads = [threading.Thread(target=train, args=(i,), daemon=True) for i in range(a.trainers)]
    threads += [threading.Thread(target=sample, args=(i,), daemon=True) for i in range(a.samplers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.timeout + a.trainers * (a.train_seconds + 60))
    wall = time.perf_counter() - t0
    for r in trainers:
        r.setdefault("kind", "timeout")
    c = Client(url, verbose=False, download_files=False)
    t1 = time.perf_counter()
    try:
        c.predict(name, 0, a.count, api_name="/sample")
        after = {"kind": "answered", "secs": time.perf_counter() - t1}
    except Exception as e:
        after = {"kind": "error", "secs": time.perf_counter() - t1, "error": str(e)[:300]}
    c.close()
    return {"trainers": trainers, "results": samples, "wall": wall, "after": after}


def report_mixed(r: dict, a: argparse.Namespace, log_lines: list[str], note: str) -> int:
    """Print the mixed scenario's figures; 0 when every visitor was served cleanly."""
    res = r["results"]
    by: dict[str, list[float]] = {}
    for x in res:
        by.setdefault(x["kind"], []).append(x["secs"])
    answered, refused = by.get("answered", []), by.get("refused", [])
    print(
        f"space: {r['url']}, generator {r['generator']}: {a.trainers} visitors training "
        f"({a.train_seconds} s runs) and {a.samplers} sampling ({a.samples_each} x /sample "
        f"of {a.count}) at once"
    )
    print(f"machine: {note}")
    for i, t in enumerate(r["trainers"]):
        ranks = t.get("queue_ranks") or []
        queued = "started at once"
        if ranks:  # 0-based ranks; the page shows them from 1
            queued = f"waited in the training queue (place {max(ranks) + 1} to {min(ranks) + 1})"
        first = t.get("first_grid_s")
        print(
            f"  trainer {i}: {t['kind']}, {queued}, {t.get('grids', 0)} grids, first after "
            f"{first:.1f} s, done after {t.get('secs', float('nan')):.1f} s"
            if first is not None
            else f"  trainer {i}: {t['kind']} {t.get('error', '')}"
        )
    print(
        f"  sampling: {len(answered)} answered, {len(refused)} refused by the queue, "
        f"{len(by.get('error', []))} errors; p50 {percentile(answered, 50):.2f} s, "
        f"p95 {percentile(answered, 95):.2f} s, max {max(answered, default=float('nan')):.2f} s"
    )
    for x in res:
        if x["kind"] == "error":
            print(f"  error: {x['error']}")
            break
    print(
        f"all over in {r['wall']:.1f} s; after: {r['after']['kind']} in {r['after']['secs']:.2f} s"
    )
    print(f"server log lines with Traceback/Error/Exception: {len(log_lines)}")
    for line in log_lines[:10]:
        print(f"    {line}")
    ok = (
        all(t["kind"] == "finished" for t in r["trainers"])
        and len(answered) + len(refused) == a.samplers * a.samples_each
        and answered
        and r["after"]["kind"] == "answered"
        and not log_lines
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


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
    p.add_argument("--scenario", choices=("burst", "mixed", "explorers"), default="burst")
    p.add_argument("--visitors", type=int, default=30, help="explorers: visitors at once")
    p.add_argument("--seconds", type=float, default=60, help="explorers: how long they explore")
    p.add_argument("--trainers", type=int, default=2, help="mixed: visitors pressing Train")
    p.add_argument("--samplers", type=int, default=20, help="mixed: visitors sampling")
    p.add_argument("--samples-each", type=int, default=3, help="mixed: /sample calls each")
    p.add_argument("--train-seconds", type=int, default=20, help="mixed: each run's length")
    a = p.parse_args(argv)
    if not 1 <= a.requests <= 500 or not 1 <= a.count <= 64:
        p.error("--requests must be 1-500 and --count 1-64")
    if not (0 <= a.trainers <= 8 and 0 <= a.samplers <= 200 and 5 <= a.train_seconds <= 60):
        p.error("--trainers must be 0-8, --samplers 0-200 and --train-seconds 5-60")
    if a.scenario == "mixed" and a.trainers + a.samplers == 0:
        p.error("--scenario mixed needs at least one trainer or sampler")
    if a.scenario == "explorers" and not (1 <= a.visitors <= 200 and 1 <= a.seconds <= 600):
        p.error("--visitors must be 1-200 and --seconds 1-600")
    run = {"mixed": mixed, "burst": burst, "explorers": space_explorers.explorers}[a.scenario]
    note_before = load_note()
    sys.path.insert(0, str(ROOT))
    from dcgan import pretrained

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dcgan-space-load-") as tmp:
        folder = pretrained.CHECKPOINT_DIR
        names = list(pretrained.available())
        if a.url:
            url, name = a.url.rstrip("/"), a.generator or (names[0] if names else "")
            r = run(url, name, a)
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
                "DCGAN_SPACE_SESSIONS": str(Path(tmp) / "sessions"),
            }
            with server([python(), "space/app.py"], env, url + "/", log) as proc:
                cpu0 = cpu_seconds(proc.pid)
                r = run(url, name, a)
                r["server_cpu_s"] = cpu_seconds(proc.pid) - cpu0
            lines = log_problems(log)
    r.update(
        url=url, generator=name, machine=f"{note_before} at the start, {load_note()} at the end"
    )
    if a.scenario == "explorers":
        r["summary"] = space_explorers.summary(r, a.visitors)
        if a.json:
            Path(a.json).write_text(json.dumps({k: v for k, v in r.items() if k != "results"}))
        return space_explorers.report(r, a, lines)
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))
    return (report_mixed if a.scenario == "mixed" else report)(r, a, lines, r["machine"])


if __name__ == "__main__":
    sys.exit(main())

"""A class exploring the Space: N visitors on the Interpolation and Vector arithmetic tabs at
once, each moving a slider or changing a seed every 1-3 s, for --seconds. Run through
`python -m loadtest.space_requests --scenario explorers --visitors 30 --seconds 60`.

Each visitor has a session of their own and a seeded random generator (visitor i uses seed
i), so two runs make the same moves. A visitor stays on one tab (60 % interpolation, 40 %
arithmetic) and moves there:
- Interpolation: the t slider (/frame, one image; 70 %) or a new seed pair (/interp, a strip
  of 9 and the norm plot; 30 %);
- Vector arithmetic: Compute with new picks and coefficients (/arithmetic, 13 images; 60 %)
  or a new candidate grid (/pool, 24 images; 40 %).

Per request it records the latency (send to answer) and the queue wait (send to the moment
the server said it started processing, stamped when gradio_client received that message; a
request that finished before a 50 ms poll saw it start counts as no wait). The server's CPU
seconds per request come from /proc when this starts the Space itself. Targets, judged here: p95
latency <= 0.5 s with 30 visitors, <= 0.15 s with 1, and no errors; FAIL and exit 1 on a miss.
"""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import datetime

from .common import percentile

TARGET_P95_S = {1: 0.15, 30: 0.5}  # one student alone, and a class of 30
POLL_S = 0.05  # the status is stamped on arrival, so a coarse poll keeps the harness light


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc (0 elsewhere)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def target_for(visitors: int) -> float:
    """The p95 target for this many visitors: 0.15 s alone, 0.5 s from 2 to 30 (the class)."""
    return TARGET_P95_S[1] if visitors <= 1 else TARGET_P95_S[30]


def explorers(url: str, name: str, a) -> dict:
    """a.visitors visitors exploring for a.seconds; every request timed."""
    from gradio_client import Client

    gate = threading.Barrier(a.visitors)
    results: list[dict] = []
    lock = threading.Lock()

    def request(c, api: str, args: tuple) -> None:
        t0, sent = time.perf_counter(), datetime.now()
        started = None
        rec = {"api": api}
        try:
            job = c.submit(*args, api_name=f"/{api}")
            while not job.done():
                st = job.status()  # the client's latest message, stamped when it arrived
                if started is None and st.code.name == "PROCESSING" and st.time is not None:
                    started = (st.time - sent).total_seconds()
                time.sleep(POLL_S)
            out = job.result(timeout=a.timeout)
            rec["kind"] = "answered" if out else "empty"
        except Exception as e:  # classified: only a clean queue refusal is not an error
            text = f"{type(e).__name__}: {e}"
            rec["kind"] = "refused" if "queue is full" in text.lower() else "error"
            rec["error"] = text[:300]
        end = time.perf_counter()
        rec["secs"] = end - t0
        rec["wait"] = started if started is not None else 0.0
        with lock:
            results.append(rec)

    def visitor(i: int) -> None:
        rng = random.Random(i)
        c = Client(url, verbose=False, download_files=False)
        tab = "interp" if rng.random() < 0.6 else "arith"
        seed_a, seed_b, pool_seed = rng.randrange(1000), rng.randrange(1000), rng.randrange(1000)
        gate.wait(timeout=120)
        deadline = time.perf_counter() + a.seconds
        while time.perf_counter() < deadline:
            if tab == "interp" and rng.random() < 0.7:
                t = round(rng.random(), 2)
                request(c, "frame", (name, seed_a, seed_b, "slerp", t))
            elif tab == "interp":
                seed_a, seed_b = rng.randrange(1000), rng.randrange(1000)
                request(c, "interp", (name, seed_a, seed_b, rng.choice(["lerp", "slerp"]), 9))
            elif rng.random() < 0.6:
                picks = [", ".join(map(str, rng.sample(range(24), 3))) for _ in range(3)]
                coeffs = (1, -1, 1) if rng.random() < 0.5 else (1, -round(rng.random(), 1), 1)
                request(c, "arithmetic", (name, pool_seed, "24", *picks, *coeffs, 0.25))
            else:
                pool_seed = rng.randrange(1000)
                request(c, "pool", (name, pool_seed, "24"))
            time.sleep(rng.uniform(1.0, 3.0))  # the visitor looks at the picture
        c.close()

    threads = [threading.Thread(target=visitor, args=(i,), daemon=True) for i in range(a.visitors)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.seconds + a.timeout + 60)
    return {"results": results, "wall": time.perf_counter() - t0}


def summary(r: dict, visitors: int) -> dict:
    """Latency and queue-wait percentiles, per endpoint and overall, with the verdict."""
    res = r["results"]
    answered = [x for x in res if x["kind"] == "answered"]
    errors = [x for x in res if x["kind"] in ("error", "empty")]

    def pcts(xs: list[dict], key: str) -> dict:
        v = [x[key] for x in xs]
        return {"p50": round(percentile(v, 50), 3), "p95": round(percentile(v, 95), 3), "n": len(v)}

    per_api = {
        api: {"latency_s": pcts(xs, "secs"), "wait_s": pcts(xs, "wait")}
        for api in sorted({x["api"] for x in answered})
        if (xs := [x for x in answered if x["api"] == api])
    }
    overall = pcts(answered, "secs")
    target = target_for(visitors)
    ok = bool(answered) and overall["p95"] <= target and not errors
    return {
        "visitors": visitors,
        "requests": len(res),
        "answered": len(answered),
        "refused": sum(x["kind"] == "refused" for x in res),
        "errors": len(errors),
        "first_error": errors[0].get("error") if errors else None,
        "latency_s": overall,
        "wait_s": pcts(answered, "wait"),
        "per_api": per_api,
        "server_cpu_ms_per_request": round(1e3 * r["server_cpu_s"] / max(len(res), 1), 1)
        if "server_cpu_s" in r
        else None,
        "target_p95_s": target,
        "pass": ok,
    }


def report(r: dict, a, log_lines: list[str]) -> int:
    """Print the explorers' figures; 0 when the target held."""
    s = r["summary"]
    print(
        f"space: {r['url']}, generator {r['generator']}: {a.visitors} visitors exploring "
        f"(Interpolation and Vector arithmetic) for {a.seconds} s"
    )
    print(f"machine: {r['machine']}")
    print(
        f"requests: {s['requests']} ({s['answered']} answered, {s['refused']} refused, "
        f"{s['errors']} errors)"
    )
    lat, wait = s["latency_s"], s["wait_s"]
    print(f"latency: p50 {lat['p50']:.3f} s, p95 {lat['p95']:.3f} s (target {s['target_p95_s']} s)")
    print(f"queue wait: p50 {wait['p50']:.3f} s, p95 {wait['p95']:.3f} s")
    if s["server_cpu_ms_per_request"] is not None:
        print(f"server CPU per request: {s['server_cpu_ms_per_request']} ms")
    for api, x in s["per_api"].items():
        print(
            f"  /{api:10s} n={x['latency_s']['n']:4d}  latency p50 {x['latency_s']['p50']:.3f} "
            f"p95 {x['latency_s']['p95']:.3f} s   wait p95 {x['wait_s']['p95']:.3f} s"
        )
    if s["first_error"]:
        print(f"  first error: {s['first_error']}")
    print(f"server log lines with Traceback/Error/Exception: {len(log_lines)}")
    ok = s["pass"] and not log_lines
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1

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

Each visitor speaks Gradio's queue protocol itself (Visitor, one HTTP connection), as the
page's JavaScript does. Per request it records the latency (send to the last image fetched)
and the queue wait (send to the server's "process_starts" message). The server's CPU seconds
per request come from /proc when this starts the Space itself. Targets, judged here: p95
latency <= 0.5 s with 30 visitors, <= 0.15 s with 1, and no errors; FAIL and exit 1 on a miss.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid

from .common import percentile

TARGET_P95_S = {1: 0.15, 30: 0.5}  # one student alone, and a class of 30


def target_for(visitors: int) -> float:
    """The p95 target for this many visitors: 0.15 s alone, 0.5 s from 2 to 30 (the class)."""
    return TARGET_P95_S[1] if visitors <= 1 else TARGET_P95_S[30]


class Visitor:
    """One browser tab's traffic, spoken as Gradio's own queue protocol (sse_v3) over one HTTP
    connection: join the queue, read the session's event stream to the answer, then fetch the
    images it names, as the page does. Light on purpose: gradio_client's threads and polling
    cost more CPU than the server on this 2-core machine, and a visitor's browser is not on the
    Space's cores."""

    def __init__(self, url: str, fn_index: dict[str, int]):
        import httpx

        self.url, self.fn_index = url.rstrip("/") + "/", fn_index
        self.http = httpx.Client(timeout=httpx.Timeout(60.0))
        self.session = uuid.uuid4().hex

    def call(self, api: str, args: tuple) -> dict:
        """One request: its kind, latency (to the last image fetched) and queue wait."""
        t0 = time.perf_counter()
        rec = {"api": api, "wait": 0.0}
        try:
            joined = self.http.post(
                self.url + "gradio_api/queue/join",
                json={
                    "data": list(args),
                    "fn_index": self.fn_index[api],
                    "session_hash": self.session,
                    "event_data": None,
                    "trigger_id": None,
                },
            )
            if joined.status_code != 200:
                raise RuntimeError(f"join: HTTP {joined.status_code} {joined.text[:200]}")
            event = joined.json()["event_id"]
            done = self._follow(event, rec, t0)
            if not done.get("success"):
                text = str((done.get("output") or {}).get("error") or done.get("msg"))
                rec["kind"] = "refused" if "queue_full" in text else "error"
                rec["error"] = text[:300]
            else:
                for item in done["output"]["data"]:
                    if isinstance(item, dict) and item.get("url"):  # the images the page shows
                        self.http.get(item["url"]).raise_for_status()
                rec["kind"] = "answered"
        except Exception as e:  # classified: an error fails the run, a refusal does not
            rec["kind"], rec["error"] = "error", f"{type(e).__name__}: {e}"[:300]
        rec["secs"] = time.perf_counter() - t0
        return rec

    def _follow(self, event: str, rec: dict, t0: float) -> dict:
        """Read the session's stream until `event` completes; note when it started."""
        with self.http.stream(
            "GET", self.url + "gradio_api/queue/data", params={"session_hash": self.session}
        ) as resp:
            buf = b""
            for chunk in resp.iter_bytes():
                buf += chunk
                while b"\n\n" in buf:
                    line, buf = buf.split(b"\n\n", 1)
                    if not line.startswith(b"data:"):
                        continue
                    msg = json.loads(line[5:])
                    if msg.get("event_id") not in (event, None):
                        continue
                    if msg["msg"] == "process_starts":
                        rec["wait"] = time.perf_counter() - t0
                    elif msg["msg"] in ("process_completed", "queue_full"):
                        return msg if msg["msg"] == "process_completed" else {"msg": "queue_full"}
        raise RuntimeError("the event stream ended before the answer")

    def close(self) -> None:
        self.http.close()


def explorers(url: str, name: str, a) -> dict:
    """a.visitors visitors exploring for a.seconds; every request timed."""
    import httpx

    config = httpx.get(url.rstrip("/") + "/config", timeout=30).json()
    fn_index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}
    gate = threading.Barrier(a.visitors)
    results: list[dict] = []
    lock = threading.Lock()

    def visitor(i: int) -> None:
        rng = random.Random(i)
        v = Visitor(url, fn_index)
        tab = "interp" if rng.random() < 0.6 else "arith"
        seed_a, seed_b, pool_seed = rng.randrange(1000), rng.randrange(1000), rng.randrange(1000)
        gate.wait(timeout=120)
        deadline = time.perf_counter() + a.seconds
        while time.perf_counter() < deadline:
            if tab == "interp" and rng.random() < 0.7:
                t = round(rng.random(), 2)
                rec = v.call("frame", (name, seed_a, seed_b, "slerp", t))
            elif tab == "interp":
                seed_a, seed_b = rng.randrange(1000), rng.randrange(1000)
                rec = v.call("interp", (name, seed_a, seed_b, rng.choice(["lerp", "slerp"]), 9))
            elif rng.random() < 0.6:
                picks = [", ".join(map(str, rng.sample(range(24), 3))) for _ in range(3)]
                coeffs = (1, -1, 1) if rng.random() < 0.5 else (1, -round(rng.random(), 1), 1)
                rec = v.call("arithmetic", (name, pool_seed, "24", *picks, *coeffs, 0.25))
            else:
                pool_seed = rng.randrange(1000)
                rec = v.call("pool", (name, pool_seed, "24"))
            with lock:
                results.append(rec)
            time.sleep(rng.uniform(1.0, 3.0))  # the visitor looks at the picture
        v.close()

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

"""ZeroGPU on a machine without a GPU, for tests: the `spaces` package's own code, talking to a
fake of Hugging Face's GPU scheduler. Not part of the built Space.

    python space/zerogpu_fake.py [APP.py] [--quota SECONDS]

runs APP.py (default: app.py beside this file) as `python app.py` would on ZeroGPU hardware.

REAL, exactly as on Hugging Face (spaces 0.51.3, spaces/zero/*):
- the switch: SPACES_ZERO_GPU=true and SPACES_ZERO_DEVICE_API_URL set before `import spaces`;
- torch's CUDA emulation in the server process (spaces.zero.torch.patch: is_available() says
  True there, tensors put on "cuda" are stand-ins), its packing at launch and the startup report;
- spaces.GPU's wrappers: a worker process forked from the server per GPU slot (reused while
  idle), the arguments and every yielded value pickled through multiprocessing queues, the
  duration callable evaluated with the call's arguments, a gr.Error raised in the worker
  re-raised as itself and any other exception shown as "ZeroGPU worker error";
- the client: /schedule, /allow and /release over HTTP, and its refusal messages when the
  visitor's quota is short (the "requested vs. left" toast).

FAKED, because there is no GPU and no scheduler here:
- the scheduler (FakeScheduler below, an HTTP server on 127.0.0.1): it lends slot 0, 1, ...,
  keeps each visitor's daily quota (the X-IP-Token's user, or one pool for anonymous calls),
  charges the seconds a call held its slot, refuses a call asking for more than is left
  (HTTP 429, as the real one), and ENFORCES the duration: a call still running when its
  duration is up has its worker killed, which the real wrapper reports as "GPU task aborted";
- the worker's CUDA init is a no-op and its copy of the stand-in tensors to the GPU
  (spaces.zero.torch init and move) hands them their data on the CPU: the worker computes on
  the CPU (tensors packed to disk at launch, for models placed on "cuda" before
  demo.launch(), cannot be moved back; the Space places none).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import runpy
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent
ANONYMOUS_QUOTA_S = 120  # the docs' daily quota of an unauthenticated visitor (2 minutes)


def token_for(user: str) -> str:
    """An X-IP-Token as Hugging Face's proxy would send it for a logged-in visitor: a JWT whose
    payload names the user (the real client only decodes the payload)."""
    payload = base64.urlsafe_b64encode(json.dumps({"user": user}).encode()).decode().rstrip("=")
    return f"fake.{payload}.sig"


def _user_of(token: str | None) -> str:
    if not token:
        return "anonymous"
    try:
        part = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "==")).get("user", "anonymous")
    except (IndexError, ValueError):
        return "anonymous"


class FakeScheduler:
    """The device API the `spaces` client calls, with quotas and duration enforcement."""

    def __init__(self, quota_s: float = ANONYMOUS_QUOTA_S, quotas: dict[str, float] | None = None):
        self.quota_s = quota_s
        self.quotas = quotas or {}  # user -> a daily quota of their own (a shorter one, in tests)
        self.used: dict[str, float] = {}  # user -> seconds charged today
        self.slots: dict[int, dict] = {}  # slot -> {"pid", "busy", "token"}
        self.tasks: dict[str, dict] = {}  # allow token -> the call
        self.lock = threading.Lock()
        self.log: list[dict] = []  # every call: user, duration asked, outcome (tests read it)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        sched = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, body = sched.answer(url.path, q)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if q.get("token"):
                    self.send_header("X-Authenticated", "regular")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        return Handler

    def answer(self, path: str, q: dict) -> tuple[int, dict | None]:
        """One request of the device API: (HTTP status, JSON body)."""
        with self.lock:
            if path == "/startup-report":
                return 200, None
            if path == "/schedule":
                return self._schedule(q)
            if path == "/allow":
                task = self.tasks.get(q.get("allowToken", ""))
                if task is None:
                    return 404, None
                self.slots[task["slot"]]["pid"] = int(q["pid"])
                return 200, None
            if path == "/release":
                task = self.tasks.pop(q.get("allowToken", ""), None)
                if task is None:
                    return 404, None
                held = time.monotonic() - task["start"]
                self.used[task["user"]] = self.used.get(task["user"], 0.0) + held
                self.slots[task["slot"]]["busy"] = False
                task["entry"]["held_s"] = round(held, 2)
                if task["entry"]["outcome"] != "killed":
                    task["entry"]["outcome"] = "failed" if q.get("fail") == "true" else "ok"
                return 200, None
        return 404, None

    def _schedule(self, q: dict) -> tuple[int, dict]:
        user = _user_of(q.get("token"))
        asked = int(q.get("durationSeconds", 60))
        left = self.quotas.get(user, self.quota_s) - self.used.get(user, 0.0)
        entry = {"user": user, "duration_s": asked, "outcome": "running"}
        self.log.append(entry)
        if asked > left:
            entry["outcome"] = "refused"
            return 429, {"left": int(left), "wait": 3600.0}
        slot = next((i for i, s in sorted(self.slots.items()) if not s["busy"]), len(self.slots))
        state = self.slots.setdefault(slot, {"pid": None, "busy": False})
        idle = state["pid"] is not None and _alive(state["pid"])
        state["busy"] = True
        token = uuid.uuid4().hex
        self.tasks[token] = {"user": user, "slot": slot, "start": time.monotonic(), "entry": entry}
        threading.Thread(target=self._enforce, args=(token, asked), daemon=True).start()
        return 200, {
            "idle": idle,
            "nvidiaIndex": slot,
            "nvidiaUUID": f"GPU-fake-{slot}",
            "allowToken": token,
        }

    def _enforce(self, token: str, seconds: int) -> None:
        """Kill the call's worker when its duration is up and it has not released the slot."""
        time.sleep(seconds)
        with self.lock:
            task = self.tasks.get(token)
            if task is None:
                return
            pid = self.slots[task["slot"]]["pid"]
            task["entry"]["outcome"] = "killed"
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def install(quota_s: float = ANONYMOUS_QUOTA_S, quotas: dict | None = None) -> FakeScheduler:
    """Start the fake scheduler and switch `spaces` to ZeroGPU; call before importing spaces."""
    if "spaces" in sys.modules:
        raise RuntimeError("install() must run before `spaces` is imported")
    sched = FakeScheduler(quota_s, quotas)
    os.environ["SPACES_ZERO_GPU"] = "true"
    os.environ["SPACES_ZERO_DEVICE_API_URL"] = sched.url
    import spaces  # noqa: F401 - runs the real ZeroGPU start: torch.patch() and the launch hook
    import spaces.zero.torch as zero_torch

    zero_torch.init = lambda nvidia_uuid: None  # no CUDA context: the worker stays on the CPU
    zero_torch.move = _move_to_cpu
    return sched


def _move_to_cpu(callback=None) -> None:
    """The worker's stand-in for the copy to the GPU: each tensor the server put on "cuda"
    gets its real data back, on the CPU (tensors packed to disk at launch are not supported)."""
    from spaces.zero.torch import patching

    if patching.tensor_packs:
        raise RuntimeError("the ZeroGPU fake cannot move tensors packed at launch")
    for fake, original in list(patching.cuda_aliases.items()):
        if original is not None:
            fake.data = original


def main(argv: list[str] | None = None) -> None:
    """Run a Gradio app file as on ZeroGPU hardware, against the fake scheduler."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("app", nargs="?", default=str(HERE / "app.py"))
    p.add_argument("--quota", type=float, default=ANONYMOUS_QUOTA_S, help="seconds per visitor")
    p.add_argument("--user-quota", action="append", default=[], help="USER=SECONDS")
    a = p.parse_args(argv)
    quotas = {u: float(q) for u, q in (x.split("=", 1) for x in a.user_quota)}
    sched = install(a.quota, quotas)
    log = os.environ.get("DCGAN_FAKE_ZEROGPU_LOG")  # the scheduler's call log, for tests
    if log:
        threading.Thread(target=_dump, args=(sched, Path(log)), daemon=True).start()
    sys.argv = [a.app]
    runpy.run_path(a.app, run_name="__main__")


def _dump(sched: FakeScheduler, path: Path) -> None:
    """Write the scheduler's call log as JSON twice a second (atomically)."""
    while True:
        with sched.lock:
            text = json.dumps({"calls": sched.log, "used": sched.used})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        time.sleep(0.5)


if __name__ == "__main__":
    main()

"""Small probes behind the explanations in bench/README.md: each isolates one effect.

    python -m bench.probes conv-passes [--threads 1]      # per-layer forward / grad-input /
                                                          # grad-weight, fp32 vs bf16
    python -m bench.probes adam-step [--threads 1]        # one optimiser step of the d2l nets
    python -m bench.probes gil --busy 0.3 [--adam fused] [--switch-interval 0.0002]
                                                          # Trainer.run beside a GIL-busy thread
    (training runs in its own process, so no probe compares an in-server job with Trainer.run;
    the figures bench/README.md keeps for that comparison have no probe here to rerun)

Times are CPU seconds (process_time) where the probe runs on 1 thread, so a busy machine does
not distort them; wall seconds otherwise. Each probe prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from functools import partial

import torch
import torch.nn.functional as F

from bench import load_avg

# d2l layers at batch 64: name -> (in, out, input size, kernel, stride, padding, transposed)
D2L_LAYERS = {
    "D1": (3, 64, 64, 4, 2, 1, False),
    "D2": (64, 128, 32, 4, 2, 1, False),
    "D3": (128, 256, 16, 4, 2, 1, False),
    "D4": (256, 512, 8, 4, 2, 1, False),
    "D5": (512, 1, 4, 4, 1, 0, False),
    "G1": (100, 512, 1, 4, 1, 0, True),
    "G2": (512, 256, 4, 4, 2, 1, True),
    "G3": (256, 128, 8, 4, 2, 1, True),
    "G4": (128, 64, 16, 4, 2, 1, True),
    "G5": (64, 3, 32, 4, 2, 1, True),
}


def _cpu_ms(fn, reps: int) -> float:
    """Fastest of `reps` calls, in CPU milliseconds, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(reps):
        c = time.process_time()
        fn()
        best = min(best, time.process_time() - c)
    return best * 1e3


def _forward(x, w, stride, padding, transposed):
    """One convolution (or transposed convolution) without bias."""
    op = F.conv_transpose2d if transposed else F.conv2d
    return op(x, w, stride=stride, padding=padding)


def _backward(go, x, w, mask, stride, padding, transposed):
    """The gradients `mask` asks for (input, weight, bias) of that convolution."""
    return torch.ops.aten.convolution_backward(
        go, x, w, None, [stride] * 2, [padding] * 2, [1, 1], transposed, [0, 0], 1, mask
    )


def conv_passes(a: argparse.Namespace) -> dict:
    """Forward, input-gradient and weight-gradient time of each d2l layer, per dtype and layout."""
    rows = {}
    for name, (cin, cout, hw, k, s, p, transposed) in D2L_LAYERS.items():
        row = {}
        for dtype in (torch.float32, torch.bfloat16):
            for cl in (False, True):
                fmt = torch.channels_last if cl else torch.contiguous_format
                x = torch.randn(a.batch, cin, hw, hw, dtype=dtype).contiguous(memory_format=fmt)
                shape = (cin, cout, k, k) if transposed else (cout, cin, k, k)
                w = torch.randn(shape).to(dtype).contiguous(memory_format=fmt)

                conv = dict(stride=s, padding=p, transposed=transposed)
                fwd = partial(_forward, x, w, **conv)
                go = torch.randn_like(fwd())
                bwd = partial(_backward, go, x, w, **conv)
                key = ("bf16" if dtype == torch.bfloat16 else "fp32") + ("_cl" if cl else "")
                row[key] = {
                    "forward_ms": _cpu_ms(fwd, a.reps),
                    "grad_input_ms": _cpu_ms(partial(bwd, [True, False, False]), a.reps),
                    "grad_weight_ms": _cpu_ms(partial(bwd, [False, True, False]), a.reps),
                }
        macs = a.batch * (hw * hw * cin if transposed else (hw // s) ** 2 * cin) * cout * k * k
        if not transposed and name == "D5":
            macs = a.batch * cin * k * k
        row["gflop_per_pass"] = 2 * macs / 1e9
        rows[name] = row
    return {"probe": "conv-passes", "batch": a.batch, "layers": rows}


def adam_step(a: argparse.Namespace) -> dict:
    """One Adam step over the d2l G and D, for each implementation."""
    from dcgan.config import preset
    from dcgan.models import build

    G, D = build(preset("d2l").model)
    out = {}
    for kind in ("default", "foreach", "fused"):
        kw = {} if kind == "default" else {kind: True}
        opts = [
            torch.optim.Adam(m.parameters(), lr=0.005, betas=(0.5, 0.999), **kw) for m in (G, D)
        ]
        for m in (G, D):
            for prm in m.parameters():
                prm.grad = torch.randn_like(prm) * 1e-3
        out[kind] = _cpu_ms(lambda opts=opts: [o.step() for o in opts], a.reps)
    return {"probe": "adam-step", "ms_per_step": out}


def _classroom_trainer(adam: str):
    """A classroom-cpu Trainer on shapes, optionally with another Adam implementation."""
    from dcgan.config import preset
    from dcgan.data import load
    from dcgan.trainer import Trainer

    cfg = preset("classroom-cpu").replace(**{"data.source": "shapes", "train.steps": 10**6})
    data = load("shapes", cfg.model.image_size)
    tr = Trainer(cfg, data)
    if adam != "default":
        t = cfg.train
        kw = {"lr": t.lr, "betas": (t.beta1, t.beta2), adam: True}
        tr.opt_G = torch.optim.Adam(tr.G.parameters(), **kw)
        tr.opt_D = torch.optim.Adam(tr.D.parameters(), **kw)
    return cfg, data, tr


def gil(a: argparse.Namespace) -> dict:
    """Trainer.run on the classroom model while another thread holds the GIL `busy` of a second."""
    sys.setswitchinterval(a.switch_interval)
    _, _, tr = _classroom_trainer(a.adam)
    stop = threading.Event()

    def busy_thread():
        while not stop.is_set():
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < a.busy:  # pure Python: holds the GIL, like a rerun
                sum(i * i for i in range(1000))
            time.sleep(1 - a.busy)

    tr.run(a.warmup)
    th = threading.Thread(target=busy_thread, daemon=True)
    if a.busy > 0:
        th.start()
    t0 = time.perf_counter()
    tr.run(a.steps)
    secs = time.perf_counter() - t0
    stop.set()
    return {
        "probe": "gil",
        "busy": a.busy,
        "adam": a.adam,
        "switch_interval": a.switch_interval,
        "examples_per_sec": a.steps * tr.global_batch / secs,
    }


def main(argv: list[str] | None = None) -> int:
    """Run one probe and print its JSON."""
    p = argparse.ArgumentParser(prog="python -m bench.probes", description=__doc__)
    sub = p.add_subparsers(dest="probe", required=True)
    c = sub.add_parser("conv-passes")
    c.add_argument("--batch", type=int, default=64)
    c.add_argument("--reps", type=int, default=5)
    c.add_argument("--threads", type=int, default=1)
    o = sub.add_parser("adam-step")
    o.add_argument("--reps", type=int, default=7)
    o.add_argument("--threads", type=int, default=1)
    g = sub.add_parser("gil")
    g.add_argument("--busy", type=float, default=0.3, help="fraction of each second (0 to 0.9)")
    g.add_argument("--adam", default="default", choices=["default", "foreach", "fused"])
    g.add_argument("--switch-interval", type=float, default=0.005)
    g.add_argument("--steps", type=int, default=300)
    g.add_argument("--warmup", type=int, default=30)
    g.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    if a.probe == "gil" and not 0 <= a.busy <= 0.9:
        p.error("--busy must lie in [0, 0.9]")
    torch.set_num_threads(a.threads)
    probes = {
        "conv-passes": conv_passes,
        "adam-step": adam_step,
        "gil": gil,
    }
    r = probes[a.probe](a)
    r.update({"threads": torch.get_num_threads(), "load_avg_1m": load_avg()})
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

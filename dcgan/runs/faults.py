"""Test-only faults: named in a run's job.json, so they cross the process boundary."""

from __future__ import annotations

import faulthandler
import os
import signal

import torch


def inject(tr, fault: dict | None) -> None:
    """Test-only faults, named in job.json so they cross the process boundary.

    {"at": step, "kind": "nan" | "inf" | "-inf" | "nan_bn" | "raise" | "oom" | "memory" |
    "exit" | "sigkill" | "segfault", "net": "G" | "D"}
    """
    if not fault or tr.step_num != int(fault.get("at", -1)):
        return
    kind = fault.get("kind", "raise")
    net = tr.G if fault.get("net", "G") == "G" else tr.D
    if kind in ("nan", "inf", "-inf"):
        with torch.no_grad():
            next(net.parameters()).fill_(float(kind))
    elif kind == "nan_bn":
        bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
        bn.running_var.fill_(float("nan"))
    elif kind == "oom":
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    elif kind == "memory":
        raise MemoryError()
    elif kind == "exit":
        raise SystemExit(3)
    elif kind == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "segfault":
        faulthandler._sigsegv()  # a real SIGSEGV, as a crashing native library raises
    else:
        raise RuntimeError("injected fault")

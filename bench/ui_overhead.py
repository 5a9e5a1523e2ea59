"""What watching costs: training throughput on the Streamlit Train page against the CLI.

The same job (the classroom-cpu preset on the built-in shapes, as the Train page starts it by
default) is trained three ways, bracketed so drift cancels:
  1. the CLI, `python -m dcgan.train` (examples/sec from its per-epoch lines, first epoch
     dropped as warm-up);
  2. the Train page, through loadtest.streamlit_sessions with one viewer: a job started with
     the page's own widgets, measured with nobody watching and with one browser-like session
     following the page's live fragment (run_every = 1 s) and fetching every sample image;
  3. the CLI again.
The overhead is 1 - (examples/sec with one viewer) / (CLI examples/sec, median of the two).

    python -m bench.ui_overhead [--seconds 30] [--cli-steps 640] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import ROOT, BenchError, load_avg, machine, median, python

EPOCH = re.compile(r"epoch (\d+): .*?([\d.]+) examples/sec")


def cli_run(steps: int, timeout: float) -> dict:
    """Train with the CLI; examples/sec per epoch after the first."""
    with tempfile.TemporaryDirectory(prefix="dcgan-ui-overhead-") as tmp:
        cmd = [python(), "-m", "dcgan.train", "--preset", "classroom-cpu", "--dataset", "shapes"]
        cmd += ["--steps", str(steps), "--out", tmp]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise BenchError(f"the CLI run failed: {r.stderr.strip()[-1000:]}")
    per_epoch = [float(m.group(2)) for m in EPOCH.finditer(r.stdout)][1:]
    if not per_epoch:
        raise BenchError("the CLI ran less than two epochs; raise --cli-steps.")
    head = r.stdout.splitlines()[0] if r.stdout else ""
    return {"examples_per_sec": median(per_epoch), "epochs": per_epoch, "header": head}


def page_run(seconds: float, timeout: float) -> dict:
    """One viewer on the Train page (loadtest.streamlit_sessions), 0-1-0 viewers."""
    with tempfile.TemporaryDirectory(prefix="dcgan-ui-overhead-") as tmp:
        out = Path(tmp) / "page.json"
        cmd = [python(), "-m", "loadtest.streamlit_sessions", "--sessions", "1"]
        cmd += ["--seconds", str(seconds), "--json", str(out)]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if not out.exists():
            raise BenchError(f"the Train page run failed:\n{(r.stdout + r.stderr)[-2000:]}")
        data = json.loads(out.read_text())
    data["passed"] = r.returncode == 0
    return data


def run(a: argparse.Namespace) -> dict:
    """CLI, page (0/1/0 viewers), CLI."""
    before = load_avg()
    cli = [cli_run(a.cli_steps, a.timeout)]
    page = page_run(a.seconds, a.timeout)
    cli.append(cli_run(a.cli_steps, a.timeout))
    cli_eps = median([c["examples_per_sec"] for c in cli])
    phases = page["phases"]
    quiet = [p["examples_per_sec"] for p in phases if p["viewers"] == 0]
    watched = [p["examples_per_sec"] for p in phases if p["viewers"] > 0]
    one = watched[0] if watched else None
    return {
        "cli_examples_per_sec": cli_eps,
        "cli_runs": [c["examples_per_sec"] for c in cli],
        "page_no_viewer_examples_per_sec": median(quiet) if quiet else None,
        "page_one_viewer_examples_per_sec": one,
        "overhead": (1 - one / cli_eps) if one else None,
        "page_job": page.get("job"),
        "page_passed": page["passed"],
        "cli_job": cli[0]["header"],
        "seconds_per_phase": a.seconds,
        "load_avg_1m_before": before,
        "machine": machine("cpu"),
    }


def summary(r: dict) -> str:
    """Human summary."""
    one, quiet = r["page_one_viewer_examples_per_sec"], r["page_no_viewer_examples_per_sec"]
    runs = ", ".join(f"{x:.0f}" for x in r["cli_runs"])
    return "\n".join(
        [
            f"classroom-cpu on shapes, load {r['load_avg_1m_before']} before, "
            f"{r['machine']['load_avg_1m']} after",
            f"  CLI:                     {r['cli_examples_per_sec']:6.0f} examples/sec ({runs})",
            f"  Train page, no viewer:   {quiet:6.0f} examples/sec",
            f"  Train page, one viewer:  {one:6.0f} examples/sec"
            + ("" if r["page_passed"] else "  (the page run reported a problem)"),
            f"  overhead of watching vs the CLI: {r['overhead']:+.0%}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run CLI, page, CLI and print a summary, or JSON with --json."""
    p = argparse.ArgumentParser(prog="python -m bench.ui_overhead", description=__doc__)
    p.add_argument("--seconds", type=float, default=30, help="length of each page phase")
    p.add_argument("--cli-steps", type=int, default=640, help="CLI steps (64 per shapes epoch)")
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    try:
        r = run(a)
    except (BenchError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(r) if a.json else summary(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training throughput of the engine against the d2l chapter's loop, measured in one run.

Both run as fresh processes on the same data (d2l's pokemon.zip layout, 64x64), the same model
(the d2l preset: nz 100, ngf = ndf = 64), batch size and device, interleaved round by round
(the order alternates) so the machine's drift cancels out. The reference is called as a
program and never changed; the ratio is engine examples/sec over reference examples/sec.

    python -m bench.train_throughput --device cpu --batch-size 64 [--rounds 3] [--json]

The reference is ../shared/bench/reference_d2l.py (or $DCGAN_BENCH_REFERENCE); the data is
../shared/data/pokemon.zip (or --data, or $DCGAN_BENCH_DATA).
"""

from __future__ import annotations

import argparse
import sys

from bench import (
    benchmark_data,
    load_avg,
    load_span,
    machine,
    median,
    parser,
    python,
    reference_script,
    report,
    run_json,
)
from bench.engine_run import command as engine_command
from bench.engine_run import passed_options


def reference_cmd(a: argparse.Namespace, data: str) -> list[str]:
    """The reference loop's command line: only what makes it the same experiment."""
    return [
        python(),
        str(reference_script()),
        "--data",
        data,
        "--steps",
        str(a.steps),
        "--warmup",
        str(a.warmup),
        "--batch-size",
        str(a.batch_size),
        "--device",
        a.device,
        "--json",
    ]


def engine_cmd(a: argparse.Namespace, data: str) -> list[str]:
    """The engine's measurement, as the CLI trains (the shipped defaults)."""
    return engine_command(a, data) + ["--precision", a.precision]


def run(a: argparse.Namespace) -> dict:
    """Alternate reference and engine for `rounds` rounds; medians and the ratio."""
    if not a.engine_only:
        reference_script()  # fail before any work when it is missing
    data = str(a.data or benchmark_data())
    load_before = load_avg()  # the benchmark itself adds about 2 by the end
    ref, eng, ratios = [], [], []
    last_engine: dict = {}
    for r in range(a.rounds):
        order = ("reference", "engine") if r % 2 == 0 else ("engine", "reference")
        got = {}
        for who in order:
            if who == "reference" and a.engine_only:
                continue
            cmd = reference_cmd(a, data) if who == "reference" else engine_cmd(a, data)
            got[who] = run_json(cmd, a.timeout, f"the {who} run")
            if not a.json:
                eps = got[who]["examples_per_sec"]
                print(f"  round {r + 1}: {who:9s} {eps:7.1f} examples/sec", flush=True)
        eng.append(got["engine"]["examples_per_sec"])
        last_engine = got["engine"]
        if "reference" in got:
            ref.append(got["reference"]["examples_per_sec"])
            ratios.append(eng[-1] / ref[-1])
    out = {
        "reference_examples_per_sec": median(ref) if ref else None,
        "engine_examples_per_sec": median(eng),
        "ratio": median(eng) / median(ref) if ref else None,
        "ratio_per_round": ratios,
        "reference_runs": ref,
        "engine_runs": eng,
        "rounds": a.rounds,
        "steps": a.steps,
        "warmup": a.warmup,
        "batch_size": a.batch_size,
        "device": last_engine.get("device", a.device),
        "precision": last_engine.get("precision"),
        "channels_last": last_engine.get("channels_last"),
        "data": data,
        "load_avg_1m_before": load_before,
        "machine": machine(a.device),
    }
    out["torch"] = out["machine"]["torch"]
    return out


def summary(r: dict) -> str:
    """Human summary of run()."""
    m = r["machine"]
    lines = [
        f"device {r['device']} ({m.get('gpu') or m['cpu']}, {m['cores']} cores), "
        f"torch {r['torch']}, batch {r['batch_size']}, {r['steps']} timed steps "
        f"after {r['warmup']}, {r['rounds']} rounds, {load_span(r)}",
        f"engine:    {r['engine_examples_per_sec']:7.1f} examples/sec (median; "
        f"{r['precision']}, channels_last={r['channels_last']})",
    ]
    if r["ratio"] is not None:
        lines.insert(1, f"reference: {r['reference_examples_per_sec']:7.1f} examples/sec (median)")
        per = ", ".join(f"{x:.2f}" for x in r["ratio_per_round"])
        lines.append(f"ratio:     {r['ratio']:.2f}x the chapter's loop (per round: {per})")
    return "\n".join(lines)


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    **passed_options(),  # --device, --batch-size, --steps, --warmup, as engine_run takes them
    "--rounds": dict(type=int, default=3, help="reference/engine pairs, interleaved"),
    "--precision": dict(default="auto", choices=["auto", "fp32", "bf16"]),
    "--data": dict(help="ImageFolder zip or folder (default: pokemon.zip in ../shared)"),
    "--engine-only": dict(action="store_true", help="skip the reference loop"),
    "--timeout": dict(type=float, default=1800, help="seconds allowed per run"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a summary, or JSON with --json."""
    p = parser("bench.train_throughput", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if min(a.steps, a.rounds, a.batch_size) < 1 or a.warmup < 0:
        p.error("--steps, --rounds and --batch-size must be at least 1, --warmup at least 0")
    return 2 if report(lambda: run(a), summary, a.json) is None else 0


if __name__ == "__main__":
    sys.exit(main())

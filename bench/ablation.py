"""What each of the engine's speed-ups is worth: switch one off at a time and measure.

Every variant is one fresh `bench.engine_run` process on the same data (d2l preset, 64x64,
pokemon) and batch; variants are interleaved round by round (the order rotates) so the
machine's drift spreads over all of them. The table gives each variant's median examples/sec
and its change against the engine as shipped. Candidates that are not shipped (fused or
foreach Adam, flushing denormals) are measured the same way, so a loss is shown too.

A second table times the data path alone: the engine's uint8 batches resident on the device,
normalised (and flipped) there, against the chapter's torchvision pipeline (ImageFolder,
Resize, ToTensor, Normalize) read through a DataLoader.

    python -m bench.ablation --device cpu --batch-size 64 [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch

from bench import benchmark_data, load_avg, load_span, machine, median, parser, report, run_json
from bench.engine_run import command as engine_command
from bench.engine_run import passed_options

# name -> engine_run switches; "shipped" is the engine as the CLI and the app run it
VARIANTS = {
    "shipped": [],
    "fp32 instead of bf16": ["--precision", "fp32"],
    "no channels_last": ["--no-channels-last"],
    "fp32, no channels_last": ["--precision", "fp32", "--no-channels-last"],
    "no G(z) reuse": ["--no-reuse-fake"],
    "D weight grads in G step": ["--no-freeze-d"],
    "host sync every step": ["--log-every", "1"],
    "chapter-style (all of the above off)": [
        "--precision",
        "fp32",
        "--no-channels-last",
        "--no-reuse-fake",
        "--no-freeze-d",
        "--log-every",
        "1",
    ],
    "candidate: foreach Adam": ["--adam", "foreach"],
    "candidate: fused Adam": ["--adam", "fused"],
    "candidate: flush denormals": ["--flush-denormal"],
    # a CPU without native bf16, emulated by capping oneDNN below AVX512-BF16: why 'auto'
    # falls back to fp32 there
    "no native bf16: bf16": ["--precision", "bf16", "--env", "ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI"],
    "no native bf16: fp32": ["--precision", "fp32", "--env", "ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI"],
}


def _split_env(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Separate '--env K=V' pairs (set for the child process) from engine_run switches."""
    rest, env = [], {}
    it = iter(args)
    for x in it:
        if x == "--env":
            k, _, v = next(it).partition("=")
            env[k] = v
        else:
            rest.append(x)
    return rest, env


def train_ablation(a: argparse.Namespace, data: str) -> list[dict]:
    """Median examples/sec per variant, interleaved over rounds."""
    names = [n for n in VARIANTS if not a.only or n in a.only]
    runs: dict[str, list[float]] = {n: [] for n in names}
    cpu_runs: dict[str, list[float]] = {n: [] for n in names}
    precision: dict[str, str] = {}
    base = engine_command(a, data)
    if a.threads:
        base += ["--threads", str(a.threads)]
    for r in range(a.rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            args, env = _split_env(VARIANTS[name])
            got = run_json(base + args, a.timeout, f"variant {name!r}", env=env)
            runs[name].append(got["examples_per_sec"])
            cpu_runs[name].append(got["examples_per_sec"] * got["seconds"] / got["cpu_seconds"])
            precision[name] = got["precision"]
            if not a.json:
                print(f"  round {r + 1}: {name:40s} {runs[name][-1]:7.1f} ex/s", flush=True)
    ship = median(runs["shipped"]) if "shipped" in runs else None
    rows = []
    for name in names:
        eps = median(runs[name])
        rows.append(
            {
                "variant": name,
                "examples_per_sec": eps,
                "examples_per_cpu_sec": median(cpu_runs[name]),
                "runs": runs[name],
                "precision": precision[name],
                "vs_shipped": (eps / ship - 1) if ship else None,
            }
        )
    return rows


def _extract(data: str) -> Path:
    """An ImageFolder root for torchvision: a zip is unpacked into a temporary folder."""
    path = Path(data)
    if zipfile.is_zipfile(path):
        tmp = Path(tempfile.mkdtemp(prefix="dcgan_bench_"))
        with zipfile.ZipFile(path) as zf:
            zf.extractall(tmp)
        path = tmp
    entries = [e for e in path.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        path = entries[0]  # d2l's zip holds one top folder of class folders
    return path


def data_ablation(a: argparse.Namespace, data: str) -> list[dict]:
    """Milliseconds per batch for the engine's data path and the chapter's DataLoader."""
    import torchvision
    from torchvision import transforms

    from dcgan.data import load, to_model_range

    n = a.data_batches
    rows = []
    images = load(data, 64).images
    gen = torch.Generator().manual_seed(0)
    for flip in (False, True):
        t0 = time.perf_counter()
        for _ in range(n):
            idx = torch.randint(len(images), (a.batch_size,), generator=gen)
            x = to_model_range(images[idx], flip, gen)
            x = x.contiguous(memory_format=torch.channels_last)
        ms = (time.perf_counter() - t0) * 1e3 / n
        name = "engine: resident uint8, normalise" + (" + flip" if flip else "") + " on device"
        rows.append({"pipeline": name, "ms_per_batch": ms})
    tf = transforms.Compose(
        [transforms.Resize((64, 64)), transforms.ToTensor(), transforms.Normalize(0.5, 0.5)]
    )
    ds = torchvision.datasets.ImageFolder(str(_extract(data)), transform=tf)
    for workers in (0, 2):
        dl = torch.utils.data.DataLoader(
            ds, batch_size=a.batch_size, shuffle=True, num_workers=workers
        )
        it = iter(dl)
        next(it)  # worker start-up is a one-off cost, not a per-batch one
        t0 = time.perf_counter()
        for _ in range(n):
            next(it)
        ms = (time.perf_counter() - t0) * 1e3 / n
        rows.append(
            {
                "pipeline": f"chapter: ImageFolder + DataLoader, {workers} workers",
                "ms_per_batch": ms,
            }
        )
    return rows


def run(a: argparse.Namespace) -> dict:
    """The training ablation and the data-path table, with the machine they ran on."""
    data = str(a.data or benchmark_data())
    before = load_avg()
    return {
        "batch_size": a.batch_size,
        "steps": a.steps,
        "warmup": a.warmup,
        "rounds": a.rounds,
        "threads": a.threads,
        "device": a.device,
        "train": train_ablation(a, data),
        "data": None if a.no_data else data_ablation(a, data),
        "load_avg_1m_before": before,
        "machine": machine(a.device),
    }


def summary(r: dict) -> str:
    """Human summary."""
    m = r["machine"]
    lines = [
        f"{m['cpu']}, {m['cores']} cores, torch {m['torch']}, batch {r['batch_size']}, "
        f"{r['steps']} timed steps, {r['rounds']} rounds, threads {r['threads'] or 'default'}, "
        + load_span(r),
        f"{'variant':40s} {'ex/s':>7s}  vs shipped  ex/CPU-s",
    ]
    for row in r["train"]:
        vs = row["vs_shipped"]
        lines.append(
            f"{row['variant']:40s} {row['examples_per_sec']:7.1f}  "
            + ("          " if vs is None else f"{vs:+9.0%} ")
            + f" {row['examples_per_cpu_sec']:7.1f}"
        )
    if r.get("data"):
        lines.append(f"data path, ms per batch of {r['batch_size']}:")
        for row in r["data"]:
            lines.append(f"  {row['pipeline']:52s} {row['ms_per_batch']:8.2f}")
    return "\n".join(lines)


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    **passed_options(steps=20),  # --device, --batch-size, --steps, --warmup for engine_run
    "--rounds": dict(type=int, default=3),
    "--threads": dict(type=int, help="torch threads; 1 + CPU time measures work on a busy machine"),
    "--only": dict(nargs="*", help=f"variants to run (of {list(VARIANTS)})"),
    "--data": dict(help="ImageFolder zip or folder (default: pokemon.zip in ../shared)"),
    "--data-batches": dict(type=int, default=20, help="batches timed per data path"),
    "--no-data": dict(action="store_true", help="skip the data-path table"),
    "--timeout": dict(type=float, default=1800),
}


def main(argv: list[str] | None = None) -> int:
    """Run the training ablation (and the data-path table) and print a summary or JSON."""
    p = parser("bench.ablation", __doc__, OPTIONS)
    a = p.parse_args(argv)
    unknown = set(a.only or []) - set(VARIANTS)
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")
    return 2 if report(lambda: run(a), summary, a.json) is None else 0


if __name__ == "__main__":
    sys.exit(main())

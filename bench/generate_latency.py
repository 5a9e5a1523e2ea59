"""Generator latency on the CPU, as the latent pages and the Space use it (2 threads).

Three figures, each the median over --repeats timed calls after a warm-up:
  single_ms    one 64x64 image: sample z from a seed, generate, convert to uint8;
  grid64_ms    a 64-image grid: the same for 64 latents;
  interp32_ms  a 32-frame interpolation strip: slerp between two seeded latents, then the same.
Every call goes through dcgan.latent.generate (what the UIs call) and dcgan.images.to_uint8,
with G as dcgan.checkpoint.load_generator gives it (eval mode, channels_last on the CPU).

The generator is the shipped one (checkpoints/anime-faces.safetensors: 64x64, ngf 32) when it
exists, else a freshly initialised generator of that config (timing does not depend on the
weights; the output says which). The chapter's d2l generator (ngf 64) is measured too.

    python -m bench.generate_latency [--threads 2] [--repeats 30] [--ablation] [--json]

--ablation also times the inference tricks one by one (no_grad vs inference_mode,
channels_last, bf16, BatchNorm folded into the transposed convolutions) and reports how far
each one's images move from the plain fp32 ones.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import nn

from bench import ROOT, load_avg, load_span, machine, median_ms, parser, report

SHIPPED = ROOT / "checkpoints" / "anime-faces.safetensors"
LOADED_FORMAT = torch.channels_last  # what dcgan.checkpoint.load_generator gives on the CPU


def shipped_generator() -> tuple[nn.Module, object, str]:
    """(G, ModelConfig, which): the shipped anime-faces generator, or a fresh one like it."""
    from dcgan.checkpoint import load_generator
    from dcgan.config import ModelConfig
    from dcgan.models import build

    if SHIPPED.exists():
        G, cfg, _ = load_generator(SHIPPED)
        return G, cfg, f"shipped {SHIPPED.relative_to(ROOT)}"
    cfg = ModelConfig(image_size=64, ngf=32, ndf=32, d_first_bn=False, init="paper")
    G = build(cfg, seed=0)[0].eval().to(memory_format=LOADED_FORMAT)
    return G, cfg, "fresh init (64x64, ngf 32; no shipped file yet)"


def d2l_generator() -> tuple[nn.Module, object, str]:
    """The chapter's generator (ngf 64), freshly initialised."""
    from dcgan.config import preset
    from dcgan.models import build

    cfg = preset("d2l").model
    G = build(cfg, seed=0)[0].eval().to(memory_format=LOADED_FORMAT)
    return G, cfg, "fresh init (d2l: 64x64, ngf 64)"


def workloads(nz: int) -> dict[str, Callable[[], torch.Tensor]]:
    """The three latent batches, built inside the timed call as a UI builds them."""
    from dcgan.latent import interpolate, sample_z

    def interp():
        z = sample_z(2, nz, seed=7)
        return interpolate(z[0], z[1], 32)

    return {
        "single_ms": lambda: sample_z(1, nz, seed=7),
        "grid64_ms": lambda: sample_z(64, nz, seed=7),
        "interp32_ms": interp,
    }


def shipped_path(G: nn.Module, nz: int, repeats: int, warmup: int) -> dict[str, float]:
    """The three figures through dcgan.latent.generate, as the UIs call it."""
    from dcgan.images import to_uint8
    from dcgan.latent import generate

    out = {}
    for name, make_z in workloads(nz).items():
        call = lambda mz=make_z: to_uint8(generate(G, mz()))
        out[name] = round(median_ms(call, repeats, warmup), 3)
    return out


# ---------------------------------------------------------------------- ablation


def fold_batchnorm(G: nn.Module) -> nn.Module:
    """An eval copy of G with each BatchNorm folded into the transposed conv before it."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    G = copy.deepcopy(G).eval()
    for block in G:
        if isinstance(block, nn.Sequential) and len(block) >= 2:
            conv, bn = block[0], block[1]
            if isinstance(conv, nn.ConvTranspose2d) and isinstance(bn, nn.BatchNorm2d):
                block[0] = fuse_conv_bn_eval(conv, bn, transpose=True)
                block[1] = nn.Identity()
    return G


def variants(G: nn.Module) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
    """Each inference trick on its own, and the combination that ships."""
    G = copy.deepcopy(G).eval().to(memory_format=torch.contiguous_format)
    G_cl = copy.deepcopy(G).to(memory_format=torch.channels_last)
    G_fold = fold_batchnorm(G)
    G_fold_cl = copy.deepcopy(G_fold).to(memory_format=torch.channels_last)

    def run(net, grad_mode, bf16=False, cl=False):
        def f(z):
            with grad_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                x = z.contiguous(memory_format=torch.channels_last) if cl else z
                return net(x).float()

        return f

    nog, inf = torch.no_grad, torch.inference_mode
    return {
        "fp32 no_grad (baseline)": run(G, nog),
        "fp32 inference_mode": run(G, inf),
        "fp32 channels_last": run(G_cl, inf, cl=True),
        "bf16 autocast": run(G, inf, bf16=True),
        "bf16 channels_last": run(G_cl, inf, bf16=True, cl=True),
        "fp32 BN folded": run(G_fold, inf),
        "fp32 BN folded + channels_last": run(G_fold_cl, inf, cl=True),
        "bf16 BN folded": run(G_fold, inf, bf16=True),
        "requires_grad on, no no_grad": run(G, nullcontext),
    }


def ablation(G: nn.Module, nz: int, repeats: int, warmup: int) -> list[dict]:
    """Median ms of each variant for each workload, and its largest pixel change vs baseline."""
    from dcgan.latent import sample_z

    rows = []
    check_z = sample_z(64, nz, seed=11)
    ref = None
    for name, f in variants(G).items():
        row = {"variant": name}
        for wl, make_z in workloads(nz).items():
            row[wl] = round(median_ms(lambda f=f, mz=make_z: f(mz()), repeats, warmup), 3)
        out = f(check_z).detach()
        ref = out if ref is None else ref
        row["max_abs_diff"] = float((out - ref).abs().max())  # images live in [-1, 1]
        rows.append(row)
    return rows


# ---------------------------------------------------------------------- CLI


TARGETS = {"single_ms": 5.0, "grid64_ms": 60.0, "interp32_ms": 200.0}


def run(a: argparse.Namespace) -> dict:
    """Measure the shipped generator (headline) and the d2l one, optionally the ablation."""
    torch.set_num_threads(a.threads)
    before = load_avg()
    G, cfg, which = shipped_generator()
    result = {**shipped_path(G, cfg.nz, a.repeats, a.warmup)}
    result.update(
        {
            "generator": which,
            "ngf": cfg.ngf,
            "image_size": cfg.image_size,
            "threads": torch.get_num_threads(),
            "repeats": a.repeats,
            "targets_ms": TARGETS,
            "load_avg_1m_before": before,
            "machine": machine("cpu"),
        }
    )
    G_d2l, cfgd, whichd = d2l_generator()
    d2l = shipped_path(G_d2l, cfgd.nz, a.repeats, a.warmup)
    result["d2l"] = {"generator": whichd, "ngf": cfgd.ngf, **d2l}
    if a.ablation:
        result["ablation"] = {
            "shipped": ablation(G, cfg.nz, a.repeats, a.warmup),
            "d2l": ablation(G_d2l, cfgd.nz, a.repeats, a.warmup),
        }
    return result


def summary(r: dict) -> str:
    """Human summary of run()."""
    m = r["machine"]
    lines = [
        f"{m['cpu']}, {r['threads']} threads, torch {m['torch']}, {load_span(r)}, "
        f"median of {r['repeats']}",
        f"{r['generator']}:",
    ]
    for k, target in TARGETS.items():
        ok = "ok" if r[k] <= target else "over target"
        lines.append(f"  {k:12s} {r[k]:8.2f} ms  (target <= {target:g} ms: {ok})")
    lines.append(f"{r['d2l']['generator']}:")
    for k in TARGETS:
        lines.append(f"  {k:12s} {r['d2l'][k]:8.2f} ms")
    for which, rows in r.get("ablation", {}).items():
        lines.append(f"ablation ({which} generator), ms; max |diff| vs baseline on [-1, 1]:")
        for row in rows:
            lines.append(
                f"  {row['variant']:32s} {row['single_ms']:7.2f} {row['grid64_ms']:8.2f} "
                f"{row['interp32_ms']:8.2f}   {row['max_abs_diff']:.1e}"
            )
    return "\n".join(lines)


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--threads": dict(type=int, default=2, help="torch threads (a free Space has 2)"),
    "--repeats": dict(type=int, default=30, help="timed calls per figure"),
    "--warmup": dict(type=int, default=3, help="untimed calls first"),
    "--ablation": dict(action="store_true", help="time each inference trick too"),
}


def main(argv: list[str] | None = None) -> int:
    """Print the three medians (and the d2l generator's), or JSON with --json."""
    p = parser("bench.generate_latency", __doc__, OPTIONS)
    a = p.parse_args(argv)
    if a.threads < 1 or a.repeats < 1 or a.warmup < 0:
        p.error("--threads and --repeats must be at least 1, --warmup at least 0")
    return 2 if report(lambda: run(a), summary, a.json) is None else 0


if __name__ == "__main__":
    sys.exit(main())

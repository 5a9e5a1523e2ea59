"""DistributedDataParallel on CPU: two gloo processes under torchrun train one model together.

One torchrun launch runs this file as a worker on each rank: the worker trains a Trainer for
one epoch on images that carry their own index, writes what its rank saw and its weights, then
runs the CLI (`dcgan.train.main`) in the same process group. The test then checks what a
multi-GPU user relies on: every image is seen once per epoch across the ranks, the ranks end
with identical weights (so every gradient was averaged across them), and only rank 0 prints
and writes the checkpoint.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES, BATCH, STEPS = 64, 8, 4  # 64 images / (8 x 2 ranks) = 4 steps: exactly one epoch
# one torchrun launch (the module fixture) serves every test here: under `pytest -n 2 --dist
# loadgroup` they share a worker, or each worker would launch its own
pytestmark = pytest.mark.xdist_group("ddp")


def indexed_images() -> torch.Tensor:
    """Image i is filled with the value 3i, so a normalised batch tells which images it holds."""
    v = (torch.arange(N_IMAGES, dtype=torch.int64) * 3).to(torch.uint8)
    return v.reshape(-1, 1, 1, 1).expand(-1, 3, 32, 32).contiguous()


def tiny_cfg():
    from dcgan.config import preset

    over = {
        "model.ngf": 8,
        "model.ndf": 8,
        "train.batch_size": BATCH,
        "train.device": "cpu",
        "train.precision": "fp32",
        "train.sample_every": 1000,
        "train.log_every": 2,
    }
    return preset("classroom-cpu").replace(**over).validate()


def _worker(out: Path) -> None:
    """Runs on every rank under torchrun."""
    import torch.distributed as dist

    from dcgan import train
    from dcgan.hardware import dist_world, init_distributed
    from dcgan.trainer import Trainer

    assert init_distributed("cpu")
    rank, world = dist_world()
    tr = Trainer(tiny_cfg(), indexed_images())
    seen: list[int] = []
    next_batch = tr._next_batch

    def spy():
        x = next_batch()
        seen.extend(((x[:, 0, 0, 0] + 1) * 255 / 2 / 3).round().long().tolist())
        return x

    tr._next_batch = spy
    tr.run(STEPS)
    params = {
        "G": [p.detach().clone() for p in tr.G.parameters()],
        "D": [p.detach().clone() for p in tr.D.parameters()],
    }
    torch.save({"rank": rank, "world": world, "seen": seen, **params}, out / f"rank{rank}.pt")
    dist.barrier()
    args = ["--preset", "classroom-cpu", "--dataset", "shapes", "--limit", "128", "--ngf", "8"]
    args += ["--ndf", "8", "--batch-size", "16", "--steps", "4", "--device", "cpu"]
    sys.exit(train.main(args + ["--out", str(out / "cli")]))


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    r = subprocess.run(
        cmd + [__file__, "--worker", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    ranks = [torch.load(out / f"rank{i}.pt", weights_only=True) for i in range(2)]
    return out, r, ranks


def test_ranks_split_each_epoch_between_them(ddp_run):
    _, _, ranks = ddp_run
    seen0, seen1 = ranks[0]["seen"], ranks[1]["seen"]
    assert ranks[0]["world"] == 2
    assert len(seen0) == len(seen1) == STEPS * BATCH
    assert not set(seen0) & set(seen1), "the ranks trained on different images"
    assert sorted(seen0 + seen1) == list(range(N_IMAGES)), "together they saw each image once"


def test_ranks_end_with_identical_weights(ddp_run):
    _, _, ranks = ddp_run
    # the ranks trained on disjoint images with different noise (test above), so equal
    # weights after four steps mean every gradient was averaged across them
    for net in ("G", "D"):
        for a, b in zip(ranks[0][net], ranks[1][net], strict=True):
            assert torch.equal(a, b), f"{net} drifted apart between ranks"
    assert any(not torch.equal(a, b) for a, b in zip(ranks[0]["G"], _initial_G(), strict=True))


def _initial_G() -> list[torch.Tensor]:
    """G's parameters before training, from the same seed."""
    from dcgan.models import build

    return [p.detach() for p in build(tiny_cfg().model, seed=tiny_cfg().train.seed)[0].parameters()]


def test_cli_under_torchrun_prints_once_and_writes_a_checkpoint(ddp_run):
    from dcgan import checkpoint as ckpt

    out, r, _ = ddp_run
    assert r.stdout.count("checkpoint written to") == 1, "only rank 0 reports"
    assert "batch 16 x 2 processes" in r.stdout
    state = ckpt.load(out / "cli" / "last.pt")
    assert state["step"] == 4 and state["world_size"] == 2


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    sys.path.insert(0, str(ROOT))
    _worker(Path(sys.argv[2]))

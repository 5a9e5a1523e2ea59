"""Checkpoints describe themselves, write atomically and refuse what is not theirs."""

import os

import pytest
import torch

from dcgan import checkpoint as ckpt
from dcgan.config import ModelConfig, preset
from dcgan.data import make_shapes
from dcgan.latent import generate, sample_z
from dcgan.trainer import Trainer


@pytest.fixture(scope="module")
def trained():
    cfg = preset("classroom-cpu").replace(
        **{"model.ngf": 8, "model.ndf": 8, "train.batch_size": 16}
    )
    tr = Trainer(cfg, make_shapes(32, n=64))
    tr.run(3)
    return tr


def test_full_checkpoint_rebuilds_generator(trained, tmp_path):
    p = ckpt.save(trained.state_dict(), tmp_path / "c.pt")
    G, cfg, _ = ckpt.load_generator(p)
    assert cfg == trained.cfg.model
    z = sample_z(4, cfg.nz, 0)
    # the generator samples come from: G's moving average when the preset keeps one
    want = generate(trained.sampling_generator(), z)
    assert torch.allclose(generate(G, z), want, atol=1e-5)


def test_safetensors_export_carries_config_and_is_half(trained, tmp_path):
    p = ckpt.export_generator(
        trained.G, trained.cfg.model, tmp_path / "g.safetensors", meta={"dataset": "shapes"}
    )
    meta = ckpt.read_metadata(p)
    assert meta["dataset"] == "shapes" and "model_config" in meta
    G, cfg, _ = ckpt.load_generator(p)
    z = sample_z(4, cfg.nz, 1)
    assert torch.allclose(generate(G, z), generate(trained.G, z), atol=2e-2)


def test_atomic_save_leaves_no_temp_files(trained, tmp_path):
    ckpt.save(trained.state_dict(), tmp_path / "c.pt")
    ckpt.save(trained.state_dict(), tmp_path / "c.pt")
    assert os.listdir(tmp_path) == ["c.pt"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.pt"
    p.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ckpt.CheckpointError, match="not a readable checkpoint"):
        ckpt.load(p)
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint"):
        ckpt.load(tmp_path / "missing.pt")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_with_code_is_refused(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"config": {}, "G": Evil()}, p)
    with pytest.raises(ckpt.CheckpointError, match="refused"):
        ckpt.load(p)


def test_plain_tensor_file_is_not_a_checkpoint(tmp_path):
    p = tmp_path / "t.pt"
    torch.save({"weights": torch.zeros(2)}, p)
    with pytest.raises(ckpt.CheckpointError, match="not a DCGAN Playground checkpoint"):
        ckpt.load(p)


def test_mismatched_latent_size_is_named(trained, tmp_path):
    p = ckpt.save(trained.state_dict(), tmp_path / "c.pt")
    with pytest.raises(ckpt.CheckpointError, match="nz 100 \\(expected 64\\)"):
        ckpt.load_generator(p, expected=ModelConfig(image_size=32, ngf=8, ndf=8, nz=64))


def test_resume_into_other_architecture_is_refused(trained, tmp_path):
    p = ckpt.save(trained.state_dict(), tmp_path / "c.pt")
    cfg = preset("classroom-cpu").replace(**{"train.batch_size": 16})
    other = Trainer(cfg, make_shapes(32, n=64))
    wanted = f"ngf 8 \\(expected {cfg.model.ngf}\\)"  # the preset's width, whatever it is tuned to
    with pytest.raises(ckpt.CheckpointError, match=wanted):
        other.load_state_dict(ckpt.load(p))

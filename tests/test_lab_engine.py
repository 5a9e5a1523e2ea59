"""The teaching lab's engine: the memorisation check, the attribute classifier and its
vector-arithmetic score, the filters and feature maps, dead units, and the TensorBoard files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from dcgan import memorisation as mem
from dcgan import neighbours, provenance
from dcgan.config import ModelConfig
from dcgan.data import make_shapes
from dcgan.models import build

SMALL = ModelConfig(image_size=32, ngf=8, ndf=8, nz=16, d_first_bn=False, init="paper")


CopyGenerator = mem.ReplayGenerator  # the worst memoriser: z picks a training image


@pytest.fixture(scope="module")
def shapes32():
    return make_shapes(32, n=1200, seed=3).images


# ---------------------------------------------------------------------- nearest neighbours


def test_knn_finds_exact_copies_at_distance_zero_and_ranks_the_rest():
    refs = torch.randint(0, 256, (300, 3, 8, 8), dtype=torch.uint8)
    q = refs[[5, 123, 299]].clone()
    q[1, 0, 0, 0] = 255 - int(q[1, 0, 0, 0])  # one value changed: near, not identical
    d, i = neighbours.knn(q, refs, k=3, chunk=64)  # several chunks: the running top-k must merge
    assert i[:, 0].tolist() == [5, 123, 299]
    assert d[0, 0] == 0 and d[2, 0] == 0 and 0 < d[1, 0] < d[1, 1]
    assert torch.all(d[:, :-1] <= d[:, 1:])  # nearest first
    brute = ((q[:, None].float() - refs[None].float()) / 255).pow(2).flatten(2).mean(2).sqrt()
    assert torch.allclose(d, brute.topk(3, largest=False).values, atol=1e-5)


def test_knn_refuses_mismatched_image_sizes_with_a_fix():
    with pytest.raises(ValueError, match="image size"):
        neighbours.knn(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.zeros(4, 3, 16, 16).byte())


def test_flips_find_a_mirrored_copy():
    refs = torch.randint(0, 256, (50, 3, 8, 8), dtype=torch.uint8)
    mirrored = refs[:4].flip(-1)
    assert (neighbours.nearest_distance(mirrored, refs) > 0).all()
    assert (neighbours.nearest_distance(mirrored, refs, flips=True) == 0).all()


def test_a_generator_that_copies_training_images_is_flagged(shapes32):
    train, held = shapes32[:1000], shapes32[1000:]
    G = CopyGenerator(train)
    D = build(SMALL, seed=0)[1]
    r = mem.check(G, SMALL.nz, train, held, D=D, n_generated=128, n_heldout=128, seed=1)
    assert r.heldout_is_real
    assert r.pixel.flagged and r.features.flagged and r.flagged
    assert r.pixel.frac_close > 0.9 and r.pixel.median_ratio < 0.1
    # the examples: each sample's nearest training image is the one it copied
    top = r.examples[mem.PIXEL].index[:, 0]
    assert torch.equal(r.train[top], r.samples)
    assert (r.examples[mem.PIXEL].distance[:, 0] == 0).all()


def test_an_untrained_generator_is_not_flagged(shapes32):
    G = build(SMALL, seed=0)[0]
    D = build(SMALL, seed=0)[1]
    r = mem.check(G, SMALL.nz, shapes32, None, D=D, n_generated=128, n_heldout=128, seed=1)
    assert not r.heldout_is_real and "reference only" in r.heldout_note
    assert not r.flagged
    assert r.pixel.frac_close < 0.05 and r.pixel.median_ratio > 1
    # the split: held-out images are not searched as training images
    assert len(r.train) == len(shapes32) - 128


def test_fresh_real_images_as_a_generator_are_not_flagged(shapes32):
    """A generator that draws new images from the data distribution (images the check never
    saw) is the ideal non-memoriser: about 5 % fall below the 5th percentile, not more."""
    train, unseen = shapes32[:800], shapes32[800:]
    G = CopyGenerator(unseen)
    r = mem.check(G, SMALL.nz, train, None, n_generated=256, n_heldout=200, seed=2)
    assert not r.pixel.flagged
    assert 0.3 < r.pixel.median_ratio < 3


def test_the_shipped_pokemon_generator_is_not_flagged(shared_data, monkeypatch):
    from dcgan import pretrained
    from dcgan.data import load

    if "pokemon" not in pretrained.available():
        pytest.skip("checkpoints/pokemon.safetensors is not shipped here")
    monkeypatch.setenv("DCGAN_POKEMON_URL", (shared_data / "pokemon.zip").as_uri())
    import hashlib

    sha1 = hashlib.sha1((shared_data / "pokemon.zip").read_bytes()).hexdigest()
    monkeypatch.setenv("DCGAN_POKEMON_SHA1", sha1)
    G, cfg, _ = pretrained.load("pokemon")
    train = load("pokemon", cfg.image_size).images
    r = mem.check(G, cfg.nz, train, None, n_generated=128, n_heldout=128, seed=0, flips=True)
    assert not r.flagged, r.pixel.summary()


def test_cli_prints_json_for_a_generator_export(tmp_path, capsys):
    from dcgan.checkpoint import export_generator

    cfg = ModelConfig(image_size=32, ngf=8, ndf=8, nz=16)
    path = export_generator(build(cfg)[0], cfg, tmp_path / "g.safetensors", meta={})
    assert mem.main([str(path), "--data", "shapes", "--n", "32", "--heldout", "32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data"] == "shapes" and out["heldout_is_real"] is False
    assert out["generator"] == "trained"
    assert out["pixel"]["flagged"] is False and out["features"] is not None
    assert "randomly initialised" in out["feature_note"]


def test_cli_replay_baseline_is_flagged(tmp_path, capsys):
    from dcgan.checkpoint import export_generator

    path = export_generator(build(SMALL)[0], SMALL, tmp_path / "g.safetensors", meta={})
    args = [str(path), "--data", "shapes", "--n", "32", "--heldout", "32", "--json", "--replay"]
    assert mem.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["generator"] == "replay" and out["flagged"] is True


def test_cli_explains_a_checkpoint_that_names_no_dataset(tmp_path, capsys):
    from dcgan.checkpoint import export_generator

    path = export_generator(build(SMALL)[0], SMALL, tmp_path / "g.safetensors", meta={})
    assert mem.main([str(path)]) == 2
    assert "--data" in capsys.readouterr().err


def test_distance_arrays_and_numbers_are_plain():
    r = mem.distance_report(mem.PIXEL, np.array([0.0, 0.0, 0.5]), np.linspace(0.1, 1.0, 100))
    assert r.flagged and r.frac_close == pytest.approx(2 / 3)
    json.dumps(r.numbers())


def test_duplicate_fraction_counts_images_with_an_exact_twin():
    x = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    assert neighbours.duplicate_fraction(x) == 0
    x[7] = x[2]
    x[9] = x[2]
    assert neighbours.duplicate_fraction(x) == pytest.approx(3 / 10)


def test_duplicates_in_the_data_neither_hide_copies_nor_flag_a_fair_generator():
    """Pokemon holds exact duplicate sprites: 30 % of held-out images sit at distance 0, so
    the 5th percentile is 0. A copier (all at 0) must still be flagged; a generator whose
    distances look like held-out's must not."""
    rng = np.random.default_rng(0)
    held = np.concatenate([np.zeros(150), rng.uniform(0.05, 0.3, 350)])
    assert mem.distance_report(mem.PIXEL, np.zeros(200), held).flagged
    fair = np.concatenate([np.zeros(60), rng.uniform(0.05, 0.3, 140)])
    r = mem.distance_report(mem.PIXEL, fair, held)
    assert r.threshold == 0 and r.heldout_close == pytest.approx(0.3) and not r.flagged


# ---------------------------------------------------------------------- inside the networks


def test_filter_tiles_draw_every_filter_with_zero_as_grey():
    from dcgan import inside

    G, D = build(SMALL, seed=0)
    tiles = inside.d_first_filters(D, tile=8)  # ndf = 8 filters of 3x4x4 at 2x -> 8 px tiles
    assert tiles.dtype == np.uint8 and tiles.shape[2] == 3
    w = torch.zeros(4, 3, 4, 4)
    w[1, 0] = 1.0  # a pure red filter
    w[2] = -1.0  # all negative: black
    grid = inside.filter_tiles(w, tile=4, nrow=4)
    cells = [grid[2:6, 2 + j * 6 : 6 + j * 6] for j in range(4)]
    assert (cells[0] == 128).all()  # 0 maps to mid-grey
    assert (cells[1][..., 0] == 255).all() and (cells[1][..., 1] == 128).all()
    assert (cells[2] == 0).all()
    assert inside.g_last_filters(G, tile=8).shape[2] == 3
    assert inside.g_last_filters(G).shape != inside.g_last_filters(G, tile=8).shape


def test_feature_maps_follow_each_network_layer_by_layer():
    from dcgan import inside
    from dcgan.latent import sample_z

    G, D = build(SMALL, seed=0)
    g_maps = inside.feature_maps(G, sample_z(1, SMALL.nz, 0), max_channels=4)
    assert [m.shape for m in g_maps][0] == (32, 4, 4)  # (ngf*4) x 4 x 4
    assert g_maps[-1].shape == (3, 32, 32) and g_maps[-1].channels == []  # the picture
    assert all(len(m.channels) <= 4 and m.grid.dtype == np.uint8 for m in g_maps[:-2])
    img = torch.rand(1, 3, 32, 32) * 2 - 1
    d_maps = inside.feature_maps(D, img)
    assert d_maps[0].shape == (8, 16, 16) and d_maps[-1].grid is None
    assert d_maps[-1].value == pytest.approx(D.eval()(img).item(), abs=1e-5)
    with pytest.raises(ValueError, match="one sample"):
        inside.feature_maps(D, torch.zeros(2, 3, 32, 32))


def _forced_dead_D(activation: str) -> nn.Sequential:
    """A paper-recipe D whose block 1 has its first 5 of 16 BatchNorm biases at -100."""
    cfg = ModelConfig(
        image_size=32, ngf=8, ndf=8, nz=16, d_first_bn=False, init="paper", d_activation=activation
    )
    D = build(cfg, seed=0)[1]
    with torch.no_grad():
        D[1][1].bias[:5] = -100.0  # block 1: Conv, BN(16), activation
    return D


def test_dead_unit_fractions_count_units_that_never_fire():
    from dcgan import inside

    images = make_shapes(32, n=64, seed=1).images
    D = _forced_dead_D("relu")
    before = {k: v.clone() for k, v in D.state_dict().items()}
    dead = inside.dead_unit_fractions(D, images)
    assert set(dead) == {"block0", "block1", "block2"}
    assert dead["block1"] == pytest.approx(5 / 16)
    assert dead["block0"] == 0.0 and dead["block2"] < 1.0
    # the measurement leaves D exactly as it was: weights, running statistics, mode
    assert all(torch.equal(before[k], v) for k, v in D.state_dict().items())
    assert D.training
    # eval-mode BatchNorm (running statistics) sees the same forced units dead
    assert inside.dead_unit_fractions(D, images, batch_stats=False)["block1"] >= 5 / 16
    # the count is about the activation's input, so LeakyReLU reports the same units
    assert inside.dead_unit_fractions(_forced_dead_D("leaky_relu"), images) == dead
    healthy = inside.dead_unit_fractions(build(SMALL, seed=0)[1], images)
    assert all(v == 0.0 for v in healthy.values())


# ---------------------------------------------------------------------- vector arithmetic


def test_expressions_parse_into_the_attributes_their_result_should_have():
    from dcgan import attributes as at

    a, b, c = at.parse_expression("red squares - red + blue")
    assert (a, b, c) == (
        {"colour": "red", "shape": "square"},
        {"colour": "red"},
        {"colour": "blue"},
    )
    assert at.target_of(a, b, c) == {"colour": "blue", "shape": "square"}
    # B may name what A and C share: it cancels
    t = at.target_of(*at.parse_expression("large red square - large red circle + blue circle"))
    assert t == {"shape": "square", "colour": "blue"}
    with pytest.raises(at.QueryError, match="ambiguous"):
        at.target_of({"colour": "red"}, {"shape": "square"}, {"colour": "blue"})
    with pytest.raises(at.QueryError, match="unknown attribute word 'purple'"):
        at.parse_expression("purple square - red + blue")
    with pytest.raises(at.QueryError, match="A - B \\+ C"):
        at.parse_expression("red square + blue")


class BankGenerator(nn.Module):
    """Draws a real shape whose colour is argmax(z[0:4]) and, when `disentangled`, whose
    shape is argmax(z[4:7]); otherwise the shape comes from an unrelated hash of z. Only the
    first has latent directions that arithmetic can add and subtract."""

    def __init__(self, disentangled: bool = True):
        super().__init__()
        from dcgan import attributes as at

        bank = make_shapes(32, n=2048, seed=5)
        self.register_buffer("bank", bank.images.float() / 127.5 - 1)
        labels = at.labels_of(bank.attributes)
        self.register_buffer("key", labels["colour"] * 3 + labels["shape"])
        self.disentangled = disentangled
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z):
        z = z.flatten(1)
        colour = z[:, 0:4].argmax(1)
        if self.disentangled:
            shape = z[:, 4:7].argmax(1)
        else:
            shape = (z[:, 10].abs() * 1e6).long() % 3
        out = []
        for c, s, h in zip(colour, shape, (z[:, 11].abs() * 1e6).long(), strict=True):
            idx = (self.key == c * 3 + s).nonzero().flatten()
            out.append(self.bank[idx[h % len(idx)]])
        return torch.stack(out)


@pytest.fixture(scope="module")
def attribute_net():
    from dcgan import attributes as at

    return at.classifier()


def test_the_classifier_reads_fresh_shapes_and_is_cached(attribute_net):
    from dcgan import attributes as at

    net, info = attribute_net
    assert all(v >= 0.95 for v in info["accuracy"].values()), info
    fresh = make_shapes(32, n=256, seed=99)
    labels = at.labels_of(fresh.attributes)
    pred = at.predict(net, fresh.images)
    assert (pred["colour"][0] == labels["colour"]).float().mean() > 0.95
    assert at.cache_path().exists()
    again, info2 = at.classifier()  # from disk: same weights, no retraining
    assert info2 == info
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True)
    )
    # 64 px images (the shipped generators' size) are read through the same network
    big = make_shapes(64, n=128, seed=99)
    pred64 = at.predict(net, big.images)
    assert (pred64["shape"][0] == at.labels_of(big.attributes)["shape"]).float().mean() > 0.9


def test_a_damaged_classifier_cache_is_retrained(tmp_path, monkeypatch):
    from dcgan import attributes as at

    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path))
    at.cache_path().parent.mkdir(parents=True)
    at.cache_path().write_bytes(b"not a checkpoint")
    calls = []
    monkeypatch.setattr(
        at,
        "train_classifier",
        lambda seed=0: calls.append(seed) or (at.AttributeNet(), {"accuracy": {}}),
    )
    at.classifier()
    assert calls == [0] and at.cache_path().stat().st_size > 100


def test_arithmetic_scores_a_disentangled_generator_far_above_chance(attribute_net):
    from dcgan import attributes as at

    net, _ = attribute_net
    kw = dict(net=net, n_pool=768, trials=200, seed=3)
    good = at.score_arithmetic(BankGenerator(True), 16, "red square - red + blue", **kw)
    assert good.target == {"colour": "blue", "shape": "square"}
    # about 0.6: averaging three samples per term leaves the shape dimensions noisy
    assert good.fraction > 0.45 and good.fraction > 3 * good.random_fraction
    assert good.a_fraction < 0.1  # red squares alone are never blue squares
    assert good.group_sizes["A"] >= 3 and good.z.shape == (200, 16, 1, 1)
    # same seed, same numbers
    assert (
        at.score_arithmetic(BankGenerator(True), 16, "red square - red + blue", **kw).numbers()
        == good.numbers()
    )
    # shape not carried by the latent: the arithmetic gets the colour right, the shape by chance
    tangled = at.score_arithmetic(BankGenerator(False), 16, "red square - red + blue", **kw)
    assert tangled.fraction < good.fraction - 0.15
    json.dumps(good.numbers())


def test_arithmetic_explains_when_no_sample_looks_like_a_term(attribute_net):
    from dcgan import attributes as at

    G = build(SMALL, seed=0)[0]  # untrained: noise, never confidently a red square
    with pytest.raises(at.QueryError, match="Train the generator longer"):
        at.score_arithmetic(G, SMALL.nz, "red square - red + blue", net=attribute_net[0], n_pool=64)


# ---------------------------------------------------------------------- TensorBoard


def _events(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(log_dir), size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    return ea


def test_export_run_turns_a_run_folder_into_tensorboard_scalars_and_grids(tmp_path):
    from PIL import Image

    from dcgan import tensorboard as tb

    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    rows = [{"step": s, "loss_D": 1.0 / s, "loss_G": 2.0 * s, "time": 1.7e9 + s} for s in (5, 10)]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 15, "loss_D"'  # half a line
    (run / "metrics.jsonl").write_text(text)
    for step, colour in ((1, "red"), (25, "blue")):
        Image.new("RGB", (20, 12), colour).save(run / "samples" / f"step-{step:06d}.png")
    (run / "samples" / "notes.txt").write_text("not a grid")
    r = tb.export_run(run)
    assert (r.rows, r.grids, r.log_dir) == (2, 2, run / "tb")
    ea = _events(r.log_dir)
    assert set(ea.Tags()["scalars"]) == {"loss_D", "loss_G"}
    loss_d = ea.Scalars("loss_D")
    assert [e.step for e in loss_d] == [5, 10]
    assert loss_d[1].value == pytest.approx(0.1) and loss_d[0].wall_time == pytest.approx(1.7e9 + 5)
    grids = ea.Images("samples")
    assert [g.step for g in grids] == [1, 25] and (grids[0].width, grids[0].height) == (20, 12)
    tb.export_run(run)  # again: replaces, never doubles
    assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 1
    assert [e.step for e in _events(run / "tb").Scalars("loss_D")] == [5, 10]


def test_the_live_writer_records_scalars_and_a_grid(tmp_path):
    from dcgan import tensorboard as tb
    from dcgan.images import grid_array

    grid = grid_array(torch.zeros(4, 3, 8, 8))
    with tb.TBWriter(tmp_path / "tb") as w:
        w.add_scalars(3, {"loss_D": 0.5, "status": "running", "D_x": 0.9})
        w.add_grid(3, grid)
        with pytest.raises(ValueError, match="uint8"):
            w.add_grid(4, grid.astype(np.float32))
    ea = _events(tmp_path / "tb")
    assert set(ea.Tags()["scalars"]) == {"loss_D", "D_x"}
    img = ea.Images("samples")[0]
    assert (img.step, img.height, img.width) == (3, *grid.shape[:2])


def test_export_run_explains_a_folder_that_is_not_a_run(tmp_path, capsys):
    from dcgan import tensorboard as tb

    with pytest.raises(ValueError, match="run folder"):
        tb.export_run(tmp_path)
    assert tb.main([str(tmp_path)]) == 2
    assert "metrics.jsonl" in capsys.readouterr().err


def test_a_checkpoint_with_a_data_limit_is_checked_against_its_unseen_images(tmp_path, capsys):
    from dcgan import checkpoint as ckpt
    from dcgan.config import preset

    cfg = preset("classroom-cpu").replace(
        **{"data.limit": 1000, "model.ngf": 8, "model.ndf": 8, "model.nz": 16}
    )
    G, D = build(cfg.model, seed=0)
    path = ckpt.save(
        {"config": cfg.to_dict(), "G": G.state_dict(), "D": D.state_dict()}, tmp_path / "last.pt"
    )
    spec = provenance.data_spec(path)
    assert (spec.source, spec.limit, spec.flip) == ("shapes", 1000, False)
    train, held, source = provenance.training_data(spec, 32)
    assert (len(train), source) == (1000, "shapes") and len(held) == 4096 - 1000
    assert mem.main([str(path), "--n", "32", "--heldout", "32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["heldout_is_real"] is True and out["n_train"] == 1000
    assert "trained discriminator" in out["feature_note"]

"""Class coverage on shapes: the attribute classifier counts which shape x colour classes a set
of images holds, from a run's timeline grids, and says which are missing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dcgan import coverage
from dcgan.data import make_shapes
from dcgan.images import grid_array, png_bytes


@pytest.fixture(scope="module")
def shapes():
    """Real 32x32 shapes with their ground-truth attributes."""
    return make_shapes(32, n=600, seed=11)


def balanced(shapes, per_class: int, only: tuple[str, str] | None = None) -> torch.Tensor:
    """per_class images of every (shape, colour) class, or of one class only."""
    picked: dict[tuple[str, str], list[int]] = {}
    for i, a in enumerate(shapes.attributes):
        key = (a["shape"], a["colour"])
        if only is None or key == only:
            picked.setdefault(key, []).append(i)
    idx = [i for v in picked.values() for i in v[:per_class]]
    return shapes.images[idx]


def test_real_shapes_cover_every_class_and_one_class_covers_one(shapes):
    all_classes = coverage.classify(balanced(shapes, 5))
    assert all_classes.covered == coverage.N_CLASSES
    assert all_classes.unreadable <= 3 and all_classes.missing() == []
    reds = coverage.classify(balanced(shapes, 40, only=("square", "red")))
    assert reds.covered == 1
    assert "red square" not in reds.missing() and len(reds.missing()) == 11


def test_grid_tiles_inverts_the_timeline_grid_layout(shapes):
    images = shapes.images[:64]
    grid = grid_array(images, nrow=8)
    assert torch.equal(coverage.grid_tiles(grid, 32, 64), images)
    with pytest.raises(coverage.CoverageError, match="cannot hold 64 tiles of 64x64"):
        coverage.grid_tiles(grid, 64, 64)


def write_run(root, source: str, grids: dict[int, torch.Tensor]):
    """A run folder as the trainer leaves it: config.json and samples/step-*.png grids."""
    run = root / "run"
    (run / "samples").mkdir(parents=True, exist_ok=True)
    cfg = {"model": {"image_size": 32}, "data": {"source": source}, "train": {"n_samples": 64}}
    (run / "config.json").write_text(json.dumps(cfg))
    for step, images in grids.items():
        png = png_bytes(grid_array(images, nrow=8))
        (run / "samples" / f"step-{step:07d}.png").write_bytes(png)
    return run


def test_over_run_reads_coverage_at_each_kept_step(tmp_path, shapes):
    one_class = balanced(shapes, 8, only=("circle", "blue")).repeat(8, 1, 1, 1)
    assert len(one_class) == 64
    varied = balanced(shapes, 6)[:64]
    run = write_run(tmp_path, "shapes", {10: one_class, 200: varied})
    rows = coverage.over_run(run)
    assert [s for s, _ in rows] == [10, 200]
    assert rows[0][1].covered == 1 and rows[0][1].n == 64
    assert rows[1][1].covered >= 11, rows[1][1].counts
    assert coverage.main([str(run)]) == 0


def test_a_live_run_classifies_only_its_new_grid(tmp_path, shapes, monkeypatch):
    """A page showing a live run's coverage asks again at every new grid: the grids it has
    read are not classified again."""
    one_class = balanced(shapes, 8, only=("circle", "blue")).repeat(8, 1, 1, 1)
    run = write_run(tmp_path, "shapes", {10: one_class, 20: one_class})
    real, calls = coverage.classify, []
    monkeypatch.setattr(coverage, "classify", lambda *a: calls.append(1) or real(*a))
    coverage.over_run(run)
    assert len(calls) == 2
    write_run(tmp_path, "shapes", {30: balanced(shapes, 6)[:64]})  # the job's next grid
    rows = coverage.over_run(run)
    assert [s for s, _ in rows] == [10, 20, 30] and len(calls) == 3
    assert rows[2][1].covered >= 11 and rows[0][1].covered == 1


def test_a_run_on_other_data_is_refused_with_what_to_do(tmp_path, shapes, capsys):
    run = write_run(tmp_path, "pokemon", {1: shapes.images[:64]})
    with pytest.raises(coverage.CoverageError, match="trained on 'pokemon'.*Train on shapes"):
        coverage.over_run(run)
    assert coverage.main([str(run)]) == 2
    assert "needs the shapes" in capsys.readouterr().err


def test_a_class_is_covered_at_a_fifth_of_its_fair_share():
    counts = np.zeros((3, 4), dtype=int)
    counts[0, :] = 100
    counts[1, 0] = 8  # 512 images: fair share 42.7, a fifth is 8.5 -> 8 is covered
    counts[1, 1] = 7
    c = coverage.ClassCoverage(counts=counts, unreadable=512 - counts.sum())
    assert c.n == 512 and c.need == 8 and c.covered == 5


def test_grey_blobs_count_as_unreadable_not_as_a_class(shapes):
    """An untrained G or a slow critic draws grey blobs; the classifier still names a colour
    for them, so coverage also asks for coloured pixels."""
    grey = shapes.images[:32].float().mean(1, keepdim=True).repeat(1, 3, 1, 1).to(torch.uint8)
    c = coverage.classify(grey)
    assert c.covered == 0 and c.unreadable == 32

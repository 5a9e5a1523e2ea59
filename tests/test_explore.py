"""dcgan.explore, what the latent pages show: the right pictures, computed once per generator
and input for every session, and a failure never kept as an answer."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import explore, latent
from dcgan.config import ModelConfig
from dcgan.images import gif_bytes
from dcgan.models import build

CFG = ModelConfig(image_size=32, ngf=8, ndf=8)


@pytest.fixture
def G():
    """A small generator whose samples differ visibly (an untrained one draws flat grey)."""
    explore.MEMO.clear()
    G = build(CFG, seed=0)[0].eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in G.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return G


def picture(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_the_same_input_is_computed_once_even_when_asked_at_once(G):
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return object()

    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(explore.MEMO.get(G, ("k",), slow)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(a) for a in answers}) == 1
    assert explore.MEMO.get(G, ("other",), object) is not answers[0]


def test_a_failure_is_raised_to_every_asker_and_not_kept(G):
    def broken():
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        explore.MEMO.get(G, ("k",), broken)
    assert explore.MEMO.get(G, ("k",), lambda: 42) == 42  # tried again, not the failure


def test_answers_are_bounded_and_go_with_their_generator(G):
    memo = explore.Memo(max_entries=3)
    for i in range(5):
        memo.get(G, (i,), lambda i=i: i)
    made = []
    memo.get(G, (0,), lambda: made.append(0) or 0)  # the oldest was dropped: made again
    assert made == [0]
    other = build(CFG, seed=1)[0]
    memo.get(other, ("x",), lambda: 1)
    assert len(memo._tables) == 2
    del other
    import gc

    gc.collect()
    assert len(memo._tables) == 1


def test_strips_run_from_seed_a_to_seed_b_and_slerp_keeps_the_norm(G):
    s = explore.strips(G, CFG.nz, 1, 2, 5)
    first = latent.generate(G, latent.sample_z(1, CFG.nz, 1))
    strip = picture(s.png["lerp"])
    assert strip.shape == (36, explore.strip_width(5, 32), 3)  # sent at its own size
    tile = strip[2:34, 2:34].astype(int)
    expected = ((first[0].permute(1, 2, 0).numpy() + 1) * 127.5).round()
    assert np.abs(tile - expected).max() <= 3  # bf16 where the CPU runs it natively
    root = np.sqrt(CFG.nz)
    assert abs(s.norms["slerp"] - root).max() < 0.2 * root
    assert s.norms["lerp"][2] < 0.85 * min(s.norms["lerp"][0], s.norms["lerp"][-1])


def test_the_image_at_t_moves_with_t_and_ends_on_the_seeds(G):
    ends = explore.strips(G, CFG.nz, 3, 4, 3)
    strip = picture(ends.png["slerp"])
    at0 = picture(explore.at_t(G, CFG.nz, 3, 4, 0.0)["slerp"][0])
    at1 = picture(explore.at_t(G, CFG.nz, 3, 4, 1.0)["slerp"][0])
    close = lambda a, b: np.abs(a.astype(int) - b).max() <= 3  # noqa: E731 - bf16 batches differ
    assert close(at0, strip[2:34, 2:34]) and close(at1, strip[2:34, -34:-2])
    assert not close(at0, at1)


def test_arithmetic_uses_the_picked_groups(G):
    pool = explore.pool(G, CFG.nz, 0, 16)
    assert pool.z.shape == (16, CFG.nz, 1, 1) and picture(pool.grid).shape[1] > 8 * 32
    same = explore.arithmetic(G, CFG.nz, 0, 16, [[0], [1], [2]], (1, -1, 1), 0.0)
    other = explore.arithmetic(G, CFG.nz, 0, 16, [[0], [1], [3]], (1, -1, 1), 0.0)
    assert picture(same.means[0]).shape == (32, 32, 3)
    assert np.abs(picture(same.means[2]).astype(int) - picture(other.means[2])).max() > 20
    # mean(A) of one pick is that sample's own image
    alone = latent.generate(G, pool.z[:1])
    tile = picture(same.means[0]).astype(int)
    expected = ((alone[0].permute(1, 2, 0).numpy() + 1) * 127.5).round()
    assert np.abs(tile - expected).max() <= 3


def test_pictures_are_shown_enlarged_by_whole_multiples():
    assert explore.enlarged(64, 220) == 192 and explore.enlarged(596, 1000) == 596
    assert explore.enlarged(1200, 1000) == 1200  # never shrunk below its own size


def test_a_random_walk_gif_has_every_frame(G):
    gif = Image.open(io.BytesIO(explore.walk_gif(G, CFG.nz, 0, 16, 2, 100)))
    assert gif.n_frames == 16 and gif.size == (2 + 2 * 34, 36)
    assert gif.info["duration"] == 100


def test_a_walk_still_shows_evenly_spaced_frames_of_each_walker(G):
    sheet = picture(explore.walk_sheet(G, CFG.nz, 0, 16, 2, columns=4))
    assert sheet.shape == (2 + 2 * 34, explore.strip_width(4, 32), 3)  # a row per walker
    frames = explore.walk_frames(G, CFG.nz, 0, 16, 2)  # the animation's frames 0, 5, 10, 15
    first_walker = [f[2:34, 2:34].astype(int) for f in frames]
    for col, frame in enumerate((0, 5, 10, 15)):
        tile = sheet[2:34, 2 + col * 34 : 34 + col * 34]
        assert np.abs(tile - first_walker[frame]).max() <= 3


def test_one_gif_palette_keeps_each_frames_colours():
    red, blue = (
        np.zeros((8, 8, 3), np.uint8) + np.array(c, np.uint8) for c in ([220, 0, 0], [0, 0, 200])
    )
    gif = Image.open(io.BytesIO(gif_bytes([red, blue], 50)))
    seen = []
    for i in range(gif.n_frames):
        gif.seek(i)
        seen.append(tuple(np.asarray(gif.convert("RGB"))[4, 4]))
    assert np.abs(np.array(seen) - np.array([[220, 0, 0], [0, 0, 200]])).max() <= 8


def test_bf16_sampling_stays_within_a_few_levels_of_fp32(G):
    z = latent.sample_z(8, CFG.nz, 5)
    fp32, bf16 = latent.generate(G, z), latent.generate(G, z, precision="bf16")
    assert bf16.dtype == torch.float32 and (fp32 - bf16).abs().max() < 0.05


def test_a_laptop_without_bf16_samples_in_fp32(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 (the benches' stand-in for such a laptop) means no native bf16:
    emulated bf16 would be slower than fp32, so sampling falls back to fp32."""
    from dcgan import hardware

    hardware.cpu_has_bf16.cache_clear()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    try:
        assert hardware.pick_precision("auto", torch.device("cpu")) == "fp32"
    finally:
        hardware.cpu_has_bf16.cache_clear()

"""The engine's user-facing text in the reader's language: health hints, charts, dataset
labels, errors raised in a session, and captions drawn into exported images."""

import io

import numpy as np
import pytest
from PIL import Image

from dcgan import health, losses, plots
from dcgan.data import SOURCES, DataError, load, source_label
from dcgan.experiments import catalog
from dcgan.i18n import _, font_path, use
from dcgan.images import caption_band, captioned_gif


def early_hint() -> health.Hint:
    """The 'too early' hint of a 10-step run."""
    return health.check({}, lambda k: [0.7] * 10)[0]


def collapse_hint() -> health.Hint:
    """D's collapse hint: per-example loss_D 0.05 and D(G(z)) 0.01 over 200 steps."""
    series = {"loss_D": [0.05] * 200, "loss_G": [4.0] * 200, "D_G_z1": [0.01] * 200}
    return next(h for h in health.check({}, series.__getitem__) if h.level == "warning")


def test_english_stays_the_source_text():
    hint = collapse_hint()
    assert hint.title == "D's loss is collapsing to 0"
    assert "loss_D 0.050 per example, D(G(z)) 0.010" in hint.evidence
    assert source_label("shapes") == "Built-in shapes"


def test_a_cached_hint_speaks_each_readers_language():
    """ui.jobs shares one run's hints with every viewer: the text is made when it is read."""
    hint = collapse_hint()
    with use("fr"):
        assert hint.title == "La perte de D s'effondre vers 0"
        assert "loss_D 0,050 par exemple" in hint.evidence  # French decimal comma
    with use("zh_CN"):
        assert hint.title == "D 的损失正跌向 0"
        assert "0.050" in hint.evidence and "每个样本" in hint.evidence
    assert hint.title == "D's loss is collapsing to 0"
    with use("pt-BR"):
        assert early_hint().message == "As dicas de saúde começam após 40 passos registrados."


def test_charts_datasets_losses_and_experiments_are_translated():
    with use("fr"):
        fig = plots.loss_figure([1, 2, 3], [0.7] * 3, [0.7] * 3)
        assert fig.layout.title.text == "Pertes" and fig.layout.xaxis.title.text == "étape"
        assert source_label("shapes") == "Formes intégrées"
        assert SOURCES["anime-faces"].picker_label == "Visages d'anime · hors ligne"
        assert losses.LOSSES["lsgan"].title == "Moindres carrés (LSGAN)"
        assert _(catalog.CATALOG["relu"].title).startswith("Exercice 1")
    with use("zh_CN"):
        assert source_label("anime-faces") == "动漫人脸"
        assert plots.throughput_figure([1], [10.0], "cpu").layout.title.text == "cpu 上的吞吐量"
    # what is stored stays English: the runner writes arm labels into experiment.json
    labels = [a.label for a in catalog.CATALOG["losses"].arms]
    assert labels[:2] == ["BCE (the chapter's)", "Least squares (LSGAN)"]


def test_a_users_bad_pick_is_refused_in_their_language(tmp_path):
    with use("fr"), pytest.raises(DataError, match="taille d'image 4 hors limites"):
        load("shapes", 4)
    with use("zh_CN"), pytest.raises(DataError, match="未知数据集"):
        load(str(tmp_path / "missing"), 32)


def ink(img: Image.Image, top: int) -> int:
    """Pixels below row `top` that are not the white background."""
    arr = np.asarray(img.convert("RGB"))[top:]
    return int((arr < 200).any(axis=-1).sum())


@pytest.mark.skipif(font_path("zh_CN") is None, reason="no CJK font installed (mplfonts)")
def test_a_chinese_caption_draws_glyphs():
    img = Image.new("RGB", (120, 40), (10, 120, 200))
    with use("zh_CN"):
        out = caption_band(img, "第 300 步：生成器的样本")
    assert out.height > img.height and out.width >= img.width
    assert np.array_equal(np.asarray(out)[:40, :120], np.asarray(img))  # the picture is kept
    assert ink(out, img.height) > 50  # something drawn in the strip
    # ... and real glyphs: a font without Han characters draws every one as the same box
    with use("zh_CN"):
        g, d = caption_band(img, "生成器"), caption_band(img, "判别器")
    assert not np.array_equal(np.asarray(g), np.asarray(d))


def test_a_latin_caption_draws_with_pillows_font():
    img = Image.new("RGB", (64, 64), "white")
    with use("fr"):
        out = caption_band(img, "Étape 300 : échantillons")
    assert ink(out, img.height) > 20


@pytest.mark.skipif(font_path("zh_CN") is None, reason="no CJK font installed (mplfonts)")
def test_a_timeline_gif_says_each_frames_step_in_chinese():
    small = np.full((40, 60, 3), 30, np.uint8)
    wide = np.full((50, 90, 3), 30, np.uint8)  # grids of another size still make one GIF
    with use("zh_CN"):
        data = captioned_gif([small, wide, small], ["第 100 步", "第 200 步", "第 300 步"], 100)
    gif = Image.open(io.BytesIO(data))
    assert gif.n_frames == 3
    shown = []
    for i in range(3):
        gif.seek(i)
        frame = gif.convert("RGB")
        assert frame.height > 50 and frame.width >= 90
        shown.append(np.asarray(frame)[50:])  # below the tallest picture: the captions
    assert all(ink(Image.fromarray(band), 0) > 30 for band in shown)
    assert not np.array_equal(shown[0], shown[2])  # "100" and "300" drawn, not the same box


def test_the_train_pages_timeline_gif_skips_a_grid_thinned_away(tmp_path):
    from dcgan.images import png_bytes
    from ui.train_live import timeline_gif

    grids = []
    for step in (100, 200, 300):
        path = tmp_path / f"grid_{step}.png"
        path.write_bytes(png_bytes(np.full((40, 40, 3), step // 2, np.uint8)))
        grids.append((path, f"Étape {step}"))
    grids[1][0].unlink()  # the run thinned its timeline after the page was drawn
    with use("fr"):
        gif = Image.open(io.BytesIO(timeline_gif(grids)))
    assert gif.n_frames == 2 and gif.height > 40

"""The Train page's settings: the sidebar of widgets and the Config they make.

The widgets keep their values in session state under tr_* keys, persisted across pages, so a
visit to another page and back finds the same settings; a new preset resets them all.
"""

from __future__ import annotations

import streamlit as st

from dcgan.config import PRESETS, Config, preset, presets_help
from dcgan.data import SOURCES, source_label
from dcgan.i18n import N_, _
from dcgan.losses import LOSSES
from ui import jobs, links, state

KEEP = "session"  # settings survive a visit to another page
LINKED = {"persist_state": KEEP, "bind": "query-params"}  # and live in the page's link


def values_from(cfg: Config) -> dict:
    """Widget values for a config."""
    t, m = cfg.train, cfg.model
    return {
        "tr_lr": float(t.lr),
        "tr_beta1": float(t.beta1),
        "tr_batch": int(t.batch_size),
        "tr_unit": "steps" if t.steps else "epochs",
        "tr_len": int(t.steps or t.epochs),
        "tr_nz": int(m.nz),
        "tr_act": m.d_activation,
        "tr_alpha": float(m.leaky_alpha),
        "tr_ema": float(t.ema_decay),
        "tr_aug": bool(t.diffaugment),
        "tr_loss": t.loss,
    }


# A link leaves out the values at a widget's default, so each default is what a new session
# starts on: the default preset's values. Opening a link then rebuilds exactly its settings.
DEFAULTS = values_from(preset(jobs.DEFAULT_PRESET))
LINKED_KEYS = ("tr_preset", "tr_source", "tr_classes", *DEFAULTS)
FRESH = {"tr_preset": jobs.DEFAULT_PRESET, "tr_source": "shapes", "tr_classes": [], **DEFAULTS}
RESYNC = "tr_resync"  # settings set before their widgets first existed, to set once more
UNITS = {"epochs": N_("epochs"), "steps": N_("steps")}  # the radio's values stay these codes
LENGTH_LABELS = {"epochs": N_("Number of epochs"), "steps": N_("Number of steps")}
ACTIVATIONS = {"leaky_relu": N_("LeakyReLU"), "relu": N_("ReLU (exercise 1)")}


def apply_preset() -> None:
    """A new preset resets every setting to that preset's values."""
    st.session_state.update(values_from(preset(st.session_state.tr_preset)))


def init_settings() -> None:
    """First visit: the session's last job's settings, else the default preset's. Then any
    dataset the Data page handed over."""
    ss = st.session_state
    if RESYNC in ss:
        # Streamlit puts a value set in code into the link only once its widget exists: on the
        # next run (opening Copy link is one), what the first visit set is set again, unless
        # that run brings the user's change to it
        ss.update({k: v for k, v in ss.pop(RESYNC).items() if ss.get(k) == v})
    first = "tr_preset" not in ss
    if first:
        saved = state.train_cfg()
        cfg0 = Config.from_dict(saved) if saved else preset(jobs.DEFAULT_PRESET)
        ss.tr_preset = cfg0.preset if cfg0.preset in PRESETS else jobs.DEFAULT_PRESET
        ss.tr_source = cfg0.data.source
        ss.update(values_from(cfg0))
    handed = state.take_dataset()  # "Train on this dataset" on the Data page
    if handed is not None:
        ss.tr_source, ss.tr_classes = handed
    if first:
        ss[RESYNC] = {k: ss[k] for k in FRESH if k in ss and ss[k] != FRESH[k]}


def _classes() -> tuple[str, ...]:
    """Class names of the chosen dataset, when it has any to filter on."""
    named = SOURCES.get(st.session_state.tr_source)
    return named.classes if named is not None else ()


def sidebar() -> None:
    """Every setting, in the sidebar, in the order a user reads them."""
    ss = st.session_state
    sources = list(SOURCES)
    if ss.tr_source not in sources:
        sources.append(ss.tr_source)
    with st.sidebar:
        st.header(_("Settings"))
        note = st.container()  # a shared link's note and the Copy link button, on top
        st.selectbox(
            _("Preset"),
            list(PRESETS),
            index=list(PRESETS).index(jobs.DEFAULT_PRESET),
            key="tr_preset",
            on_change=apply_preset,
            **LINKED,
            help=presets_help(),
        )
        st.selectbox(
            _("Dataset"),
            sources,
            format_func=lambda s: source_label(s, picker=True),
            key="tr_source",
            **LINKED,
        )
        names = _classes()
        if names:
            st.multiselect(
                _("Classes (empty keeps all)"),
                list(range(len(names))),
                format_func=lambda i: names[i],
                key="tr_classes",
                **LINKED,
            )
        st.number_input(
            _("Learning rate"),
            min_value=1e-6,
            max_value=1.0,
            step=1e-4,
            value=DEFAULTS["tr_lr"],
            format="%.5f",
            key="tr_lr",
            **LINKED,
        )
        st.slider(
            _("β1 (Adam momentum)"), 0.0, 0.99, DEFAULTS["tr_beta1"], 0.01, key="tr_beta1", **LINKED
        )
        st.number_input(
            _("Batch size"), 1, 4096, DEFAULTS["tr_batch"], 16, key="tr_batch", **LINKED
        )
        c1, c2 = st.columns(2)
        units = ("epochs", "steps")
        c1.radio(
            _("Run for"),
            units,
            units.index(DEFAULTS["tr_unit"]),
            format_func=lambda u: _(UNITS[u]),
            key="tr_unit",
            **LINKED,
        )
        c2.number_input(
            _(LENGTH_LABELS[ss.tr_unit]), 1, 1_000_000, DEFAULTS["tr_len"], key="tr_len", **LINKED
        )
        st.selectbox(
            _("Loss"),
            list(LOSSES),
            format_func=lambda name: _(LOSSES[name].title),
            index=list(LOSSES).index(DEFAULTS["tr_loss"]),
            key="tr_loss",
            **LINKED,
            help=_(
                "WGAN-GP also swaps D's BatchNorm for layer norm and gives D 5 steps per G step."
            ),
        )
        with st.expander(_("What this loss does")):
            st.markdown(_(LOSSES[ss.get("tr_loss", "bce")].explanation))
        st.number_input(_("Latent size nz"), 1, 1024, DEFAULTS["tr_nz"], key="tr_nz", **LINKED)
        st.radio(
            _("D's activation"),
            ("leaky_relu", "relu"),
            ("leaky_relu", "relu").index(DEFAULTS["tr_act"]),
            format_func=lambda a: _(ACTIVATIONS[a]),
            key="tr_act",
            horizontal=True,
            **LINKED,
        )
        st.slider(
            _("α (LeakyReLU slope)"),
            0.0,
            1.0,
            DEFAULTS["tr_alpha"],
            0.05,
            key="tr_alpha",
            disabled=ss.tr_act == "relu",
            **LINKED,
        )
        st.slider(
            _("EMA decay of G's weights (0 = off)"),
            0.0,
            0.999,
            DEFAULTS["tr_ema"],
            0.001,
            format="%.3f",
            key="tr_ema",
            **LINKED,
            help=_(
                "Why: samples come from an average of G's recent weights (Yazıcı et al. 2019), "
                "which smooths away step-to-step noise. 0 = off, as in the chapter."
            ),
        )
        st.toggle(
            _("DiffAugment (colour, translation, cutout)"),
            DEFAULTS["tr_aug"],
            key="tr_aug",
            **LINKED,
            help=_(
                "Why: random colour, shift and cutout on every image D sees, real and fake "
                "(Zhao et al. 2020), stop D memorising a small dataset like Pokemon; it slows "
                "learning on large ones."
            ),
        )
        links.share(LINKED_KEYS, where=note)


def build_config() -> Config:
    """The preset with the sidebar's overrides; validate() names any bad field."""
    ss = st.session_state
    over = {
        "data.source": ss.tr_source,
        "data.classes": (tuple(ss.get("tr_classes") or []) or None) if _classes() else None,
        "train.lr": float(ss.tr_lr),
        "train.beta1": float(ss.tr_beta1),
        "train.batch_size": int(ss.tr_batch),
        "train.steps": int(ss.tr_len) if ss.tr_unit == "steps" else None,
        "model.nz": int(ss.tr_nz),
        "model.d_activation": ss.tr_act,
        "model.leaky_alpha": float(ss.tr_alpha),
        "train.ema_decay": float(ss.tr_ema),
        "train.diffaugment": "color,translation,cutout" if ss.tr_aug else "",
        "train.loss": ss.get("tr_loss", "bce"),
    }
    if ss.tr_unit == "epochs":
        over["train.epochs"] = int(ss.tr_len)
    return Config.with_overrides(ss.tr_preset, over)

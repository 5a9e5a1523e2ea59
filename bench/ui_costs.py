"""What a Train-page viewer's rerun costs the server, piece by piece (CPU ms, median of repeats).

    python -m bench.ui_costs [--repeats 20] [--json]

Each figure is one of the costs that loadtest.streamlit_sessions found with py-spy, measured
alone in this process (Streamlit in bare mode, the server's imports loaded):
  - a full garbage collection, which Streamlit runs after every script run unless
    `runner.postScriptGC = false` (.streamlit/config.toml);
  - st.image on the job's grid PNG with output_format "auto" (decoded, re-encoded as JPEG)
    against "PNG" (sent as it is);
  - st.plotly_chart on the four live charts, as plain figures (to_dict() on every call)
    against ui.jobs.SharedFigure (to_dict() once);
  - building the four charts (once per data version for all sessions, at most every
    ui.jobs.CHARTS_EVERY_S).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import sys
import time

from bench import load_avg, load_span, machine, median_ms, parser


def cpu_ms(fn, repeats: int) -> float:
    """Median CPU milliseconds of fn() over repeats calls, after one warm-up call."""
    return median_ms(fn, repeats, warmup=1, clock=time.process_time)


def run(repeats: int) -> dict:
    """Each cost, in CPU ms."""
    import numpy as np
    import pandas  # noqa: F401  (loaded by the server's pages: part of what a GC walks)
    import streamlit as st
    import torch  # noqa: F401

    from dcgan import plots
    from dcgan.images import grid_array, png_bytes
    from ui.jobs import SharedFigure

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # bare mode's context warnings
    rng = np.random.default_rng(0)
    steps = list(range(1000))

    def build():
        r = lambda: rng.random(1000) + 0.1  # noqa: E731
        return [
            plots.loss_figure(steps, r(), r()),
            plots.d_outputs_figure(steps, r(), r()),
            plots.grad_norm_figure(steps, r(), r()),
            plots.throughput_figure(steps, r()),
        ]

    plain, shared = build(), build()
    for f in shared:
        f.__class__ = SharedFigure
    grid = png_bytes(grid_array(torch.rand(64, 3, 32, 32) * 2 - 1, nrow=8))

    def charts(figs):
        for i, f in enumerate(figs):
            st.plotly_chart(f, key=f"c{i}")

    with contextlib.redirect_stderr(io.StringIO()):
        return {
            "gc_collect_2_ms": cpu_ms(lambda: gc.collect(2), max(3, repeats // 4)),
            "gc_objects": len(gc.get_objects()),
            "image_auto_ms": cpu_ms(lambda: st.image(grid, width="stretch"), repeats),
            "image_png_ms": cpu_ms(
                lambda: st.image(grid, width="stretch", output_format="PNG"), repeats
            ),
            "grid_png_kb": len(grid) / 1000,
            "charts_plain_ms": cpu_ms(lambda: charts(plain), repeats),
            "charts_shared_ms": cpu_ms(lambda: charts(shared), repeats),
            "charts_build_ms": cpu_ms(build, max(3, repeats // 4)),
        }


# flag -> add_argument's keywords; bench.parser adds the --json every benchmark has
OPTIONS = {
    "--repeats": dict(type=int, default=20),
}


def main(argv: list[str] | None = None) -> int:
    """Print each cost, or JSON with --json."""
    p = parser("bench.ui_costs", __doc__, OPTIONS)
    a = p.parse_args(argv)
    before = load_avg()
    r = run(max(1, a.repeats))
    r.update(load_avg_1m_before=before, machine=machine("cpu"))
    if a.json:
        print(json.dumps(r))
        return 0
    print(f"CPU ms, median of {a.repeats}; {load_span(r)}")
    print(
        f"  gc.collect(2) with the server's imports ({r['gc_objects']:,} objects): "
        f"{r['gc_collect_2_ms']:.0f} ms"
    )
    print(
        f"  st.image of a {r['grid_png_kb']:.0f} kB grid PNG: output_format auto "
        f"{r['image_auto_ms']:.1f} ms, PNG {r['image_png_ms']:.2f} ms"
    )
    print(
        f"  st.plotly_chart x4: plain figures {r['charts_plain_ms']:.1f} ms, SharedFigure "
        f"{r['charts_shared_ms']:.1f} ms"
    )
    print(f"  building the four charts (shared by all sessions): {r['charts_build_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: an isolated data cache per test session, and ../shared/data when present."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shared_data_dir() -> Path | None:
    """../shared/data (or $DCGAN_SHARED_DATA) when it holds the real datasets."""
    env = os.environ.get("DCGAN_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if (cand / "pokemon.zip").exists():
            return cand
    return None


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory):
    """Every test run decodes into its own cache, never the user's ./data. The workers of one
    `pytest -n` run share it (their base folders' common parent is this run's own), so the
    attribute classifier (~8 s on one core) and each decoded dataset are made once per run,
    not once per worker; the cache writes whole files by rename, so two workers may race."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "dcgan-data"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("dcgan-data")
    os.environ["DCGAN_DATA_DIR"] = str(path)
    yield path


@pytest.fixture(scope="session", autouse=True)
def _torch_threads_per_worker():
    """Torch work in the test process gets its share of the cores: under `pytest -n 2` on two
    cores, two workers at two intra-op threads each left OpenMP threads spinning for a core
    the other worker held, and in-process training ran up to 10x slower. A test that wants
    another count sets it itself (test_teaching does).

    Under xdist the share is also OMP_NUM_THREADS for the programs the tests start (unless the
    caller set it): benchmarks' child runs and other programs that leave torch its default
    count spun the same way. A count a program is given (--threads, the Space's quota) still
    rules; a job's default (dcgan.hardware.default_threads) reads this variable."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = max(1, (os.cpu_count() or 1) // workers)
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(share))
    torch = sys.modules.get("torch")  # imported by the collected test modules, if any uses it
    if torch is not None:
        torch.set_num_threads(share)
    yield


@pytest.fixture(scope="session")
def _app_server(tmp_path_factory):
    """One real `streamlit run app.py` for the tests that drive a server (the "servers" group
    below runs them one after another on one worker): each start costs seconds of CPU that the
    other worker's tests wait for."""
    from tests.helpers import Server

    srv = Server(tmp_path_factory.mktemp("app-server"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def live_app(_app_server):
    """The shared app server (a test may kill and restart it); whatever job a test left
    training in its runs folder is stopped after it, so the next test finds the folder free."""
    from dcgan.runs.handle import stop_all

    yield _app_server
    stop_all(_app_server.runs)


@pytest.fixture
def shared_data() -> Path:
    """The real datasets; tests that need them skip with a reason when absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("../shared/data is absent (set DCGAN_SHARED_DATA to run real-data tests)")
    return d


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty DCGAN_DATA_DIR for tests that check what lands in the cache."""
    d = tmp_path / "cache"
    monkeypatch.setenv("DCGAN_DATA_DIR", str(d))
    return d


@pytest.fixture(autouse=True)
def _no_orphan_jobs():
    """Every job process a test started is gone when the test ends, whatever the test did."""
    yield
    job = sys.modules.get("dcgan.runs.launch")  # only tests that imported it can have started one
    if job is None:
        return
    for pid, (proc, _run) in list(job._children.items()):
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        job._children.pop(pid, None)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Under `pytest -n 2 --dist loadgroup` (make test), the tests that drive a server with a
    browser or a crowd of sessions share one worker, one after another: two of them at once on
    two cores would starve each other's timeouts, while every other test fills the other
    worker.

    The marks go on before xdist's own hook reads them. xdist (3.8) names an item's group by
    appending "@group" to `item._nodeid`, which pytest 9 no longer reads (`nodeid` comes from
    `item._id`), so without the second half every group was silently split across workers;
    where the two disagree, the id xdist meant is applied. A no-op once they agree again."""
    for item in items:
        crowd = item.name in ("test_streamlit_sessions_smoke", "test_explorers_smoke")
        if item.get_closest_marker("browser") or crowd:
            item.add_marker(pytest.mark.xdist_group("servers"))
    yield
    for item in items:
        meant = getattr(item, "_nodeid", None)
        if meant and meant != item.nodeid and hasattr(item, "_id"):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(meant)

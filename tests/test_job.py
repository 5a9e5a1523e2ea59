"""The training job: its own process, a run folder any reader can watch, controls that answer
within a step, one job per runs folder, and failures that say what happened.

Fault tests run the job's whole life in this process (run_job, the same function the job
process runs), with the fault named in job.json as it crosses the process boundary; a few tests
spawn the real process to check what only a process can show (SIGKILL, a segfault, a CLI run
watched and stopped from outside). Every wait is on a file the job writes, never a sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from dcgan import checkpoint as ckpt
from dcgan import runs
from dcgan.runs import JobBusyError, JobStatus, handle, job, launch
from tests import helpers

ROOT = Path(__file__).resolve().parents[1]


def small_cfg(**over):
    """The shared tiny config on 512 built-in shapes."""
    return helpers.small_cfg(**{"data.limit": 512, **over})


@pytest.fixture(autouse=True)
def _one_thread():
    """In-process jobs run on one thread: the machine's other core stays for the rest."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def run_here(cfg, root: Path, **spec) -> tuple[JobStatus, dict, Path]:
    """A job's whole life in this process; returns its end, final status and folder."""
    run_dir = job.prepare(cfg, root, **spec)
    end = job.run_job(run_dir)
    return end, runs.read_json(run_dir / runs.STATUS), run_dir


def spawn(cfg, root: Path, **kw) -> handle.RunHandle:
    """A real job process, one thread (the test runner keeps the other core)."""
    return handle.start_job(cfg, root, env={"OMP_NUM_THREADS": "1"}, **kw)


# ------------------------------------------------------------------ the run folder


def test_a_finished_run_leaves_everything_a_reader_needs(tmp_path):
    end, st, d = run_here(small_cfg(**{"train.steps": 30}), tmp_path)
    assert end == JobStatus.FINISHED and st["status"] == "finished" and st["step"] == 30
    r = runs.RunReader(d)
    r.update()
    assert r.rows_read == 30 and r.last_row["step"] == 30
    steps, loss = r.points("loss_D")
    assert steps[-1] == 30 and all(v == v for v in loss)
    assert [s for s, _ in r.timeline()] == [1, 10, 20, 30]
    assert r.latest_grid()[0] == 30 and r.latest_grid()[1][:4] == b"\x89PNG"
    assert ckpt.load(d / runs.LAST)["step"] == 30
    G, model, meta = ckpt.load_generator(d / runs.GENERATOR)
    assert int(meta["step"]) == 30 and model.ngf == 16


def test_an_ema_run_shows_the_raw_generator_beside_the_average(tmp_path):
    end, _, d = run_here(small_cfg(**{"train.steps": 20, "train.ema_decay": 0.9}), tmp_path)
    assert end == JobStatus.FINISHED
    ema, raw = (d / runs.GRID).read_bytes(), (d / runs.GRID_RAW).read_bytes()
    assert raw[:4] == b"\x89PNG" and raw != ema, "two generators, two different grids"
    plain = run_here(small_cfg(**{"train.steps": 2}), tmp_path / "plain")[2]
    assert not (plain / runs.GRID_RAW).exists(), "without an average there is nothing beside it"


def test_a_reader_reads_only_what_was_appended_and_waits_for_whole_lines(tmp_path):
    path = tmp_path / "m.jsonl"
    tail = runs.JsonlTail(path)
    assert tail.read() == []
    runs.append_jsonl(path, [{"step": 1}, {"step": 2}])
    with open(path, "a") as f:
        f.write('{"step": 3')  # a row the writer has not finished
    assert [r["step"] for r in tail.read()] == [1, 2]
    with open(path, "a") as f:
        f.write("}\n")
    assert [r["step"] for r in tail.read()] == [3]


def test_a_long_series_stays_short_and_keeps_its_mean():
    s = runs.Series()
    for i in range(1, 50_001):
        s.add(i, float(i % 7))
    steps, values = s.points()
    assert len(steps) <= 2 * runs.SERIES_POINTS
    assert steps[0] < steps[-1] and steps[-1] > 49_000
    assert abs(sum(values) / len(values) - 3.0) < 0.05  # the mean of i % 7


# ------------------------------------------------------------------ failures (in this process)


@pytest.mark.parametrize("kind, net", [("inf", "G"), ("-inf", "D")])
def test_nonfinite_fails_the_job_and_keeps_the_last_good_checkpoint(tmp_path, kind, net):
    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 10})
    end, st, d = run_here(cfg, tmp_path, fault={"at": 23, "kind": kind, "net": net})
    assert end == JobStatus.FAILED and st["status"] == "failed"
    assert "NaN/inf" in st["error"] and "lower learning rate" in st["error"]
    assert str(d / runs.LAST) in st["error"], "the message says where the good one is"
    good = ckpt.load(d / runs.LAST)
    assert good["step"] == 20
    for part in ("G", "D"):
        assert all(torch.isfinite(v).all() for v in good[part].values() if v.is_floating_point())
    r = runs.RunReader(d)
    r.update()
    assert all(v == v and abs(v) != float("inf") for v in r.points("loss_D")[1])


def test_nonfinite_before_any_checkpoint_says_so(tmp_path):
    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 50})
    end, st, d = run_here(cfg, tmp_path, fault={"at": 3, "kind": "nan"})
    assert end == JobStatus.FAILED and "NaN/inf" in st["error"]
    assert "last good checkpoint" not in st["error"]
    assert not (d / runs.LAST).exists(), "a poisoned state is never written"


def test_a_nan_hidden_in_a_batchnorm_buffer_is_never_saved(tmp_path):
    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 10})
    end, st, d = run_here(cfg, tmp_path, fault={"at": 15, "kind": "nan_bn"})
    assert end == JobStatus.FAILED and "NaN/inf" in st["error"]
    assert ckpt.load(d / runs.LAST)["step"] == 10


@pytest.mark.parametrize("kind", ["oom", "memory"])
def test_out_of_memory_suggests_a_smaller_batch(tmp_path, kind):
    cfg = small_cfg(**{"train.steps": 100, "train.checkpoint_every": 10})
    end, st, d = run_here(cfg, tmp_path, fault={"at": 12, "kind": kind})
    assert end == JobStatus.FAILED
    assert "out of" in st["error"] and "memory" in st["error"]
    assert "batch size 32" in st["error"] and "smaller batch (for example 16)" in st["error"]
    assert "Traceback" not in st["error"]
    assert ckpt.load(d / runs.LAST)["step"] == 10, "the last good checkpoint is kept"


@pytest.mark.parametrize("kind, name", [("raise", "RuntimeError"), ("exit", "SystemExit")])
def test_a_crash_in_training_is_a_failed_job_with_its_reason(tmp_path, kind, name):
    end, st, _ = run_here(small_cfg(**{"train.steps": 50}), tmp_path, fault={"at": 4, "kind": kind})
    assert end == JobStatus.FAILED and name in st["error"]


def test_a_hostile_dataset_fails_the_job_with_the_data_message(tmp_path):
    import zipfile

    z = tmp_path / "up.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../evil.png", b"x")
        zf.writestr("bomb.png", b"\x00" * 2_000_000)
    end, st, _ = run_here(small_cfg(**{"data.source": str(z)}), tmp_path / "runs")
    assert end == JobStatus.FAILED and "no usable images" in st["error"]
    assert "unsafe path" in st["error"] and "Traceback" not in st["error"]


def test_resuming_from_a_bad_checkpoint_fails_clearly(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04garbage")
    end, st, _ = run_here(small_cfg(), tmp_path / "runs", resume=bad)
    assert end == JobStatus.FAILED and "not a readable checkpoint" in st["error"]


# ------------------------------------------------------------------ controls (in this process)


@contextlib.contextmanager
def paused_job_in_thread(tmp_path):
    """A long job started paused, driven in a thread of this process; stopped on the way out."""
    d = job.prepare(small_cfg(**{"train.steps": 100_000}), tmp_path, paused=True)
    h = handle.RunHandle(d)
    worker = threading.Thread(target=job.run_job, args=(d,))
    worker.start()
    try:
        st = h.wait_for(lambda s: s["status"] == "paused" and s.get("total_steps"), 60)
        yield d, h, worker, st
    finally:
        h.stop()
        worker.join(60)


def test_pause_step_set_and_stop_answer_between_steps(tmp_path):
    """A job paused before its first step: single steps move it exactly, lr changes apply."""
    with paused_job_in_thread(tmp_path) as (d, h, worker, st):
        assert st["status"] == "paused" and st["step"] == 0, "a paused start never trains"
        h.step(1, "D")
        h.step(2, "both")
        h.set(lr=1e-3, beta1=0.8)
        h.save()  # answered after the three steps: the commands are taken in order
        ev = _wait_event(h, "saved")
        assert ev["step"] == 3 and Path(ev["path"]).exists()
        assert h.status()["status"] == "paused", "single steps leave the job paused"
        sets = [e for e in h.events() if e["kind"] == "set"]
        assert sets[0]["lr"] == 1e-3 and sets[0]["beta1"] == 0.8
        h.resume()
        h.wait_for(lambda s: s["step"] >= 8, 60)
        h.stop()
        worker.join(60)
        assert not worker.is_alive()
        st = h.status()
        assert st["status"] == "stopped"
        state = ckpt.load(d / runs.LAST)
        assert state["step"] == st["step"]
        assert state["opt_G"]["param_groups"][0]["lr"] == 1e-3
        assert state["opt_D"]["param_groups"][0]["betas"][0] == 0.8


def test_a_single_d_step_leaves_g_alone(tmp_path):
    """One D step changes D's weights and none of G's."""
    with paused_job_in_thread(tmp_path) as (_d, h, _worker, _st):
        h.save()
        before = ckpt.load(_wait_event(h, "saved")["path"])
        h.step(1, "D")
        h.save()
        after = ckpt.load(_wait_event(h, "saved", after=before["step"])["path"])
        assert after["step"] == before["step"] + 1
        weights = [k for k in before["G"] if k.endswith(("weight", "bias"))]  # not BN stats
        assert all(torch.equal(before["G"][k], after["G"][k]) for k in weights)
        assert any(not torch.equal(before["D"][k], after["D"][k]) for k in before["D"])


def _wait_event(h: handle.RunHandle, kind: str, after: int = -1, timeout: float = 60) -> dict:
    """The first event of a kind past a step, waiting on events.jsonl."""
    r = runs.RunReader(h.dir)
    found: list[dict] = []

    def seen(_status) -> bool:
        r.update()
        found[:] = [e for e in r.events if e["kind"] == kind and e["step"] > after]
        return bool(found)

    h.wait_for(seen, timeout, what=f"a {kind!r} event after step {after}")
    assert found, f"the job ended without a {kind!r} event after step {after}"
    return found[0]


# ------------------------------------------------------------------ the real process


def test_the_job_is_its_own_process_and_answers_pause_resume_stop(tmp_path):
    h = spawn(small_cfg(**{"train.steps": 100_000}), tmp_path)
    assert h.pid != os.getpid() and runs.pid_alive(h.pid)
    st = h.wait_for(lambda s: s.get("step", 0) >= 3, 120)
    assert st["status"] == "running", st
    h.pause()
    st = h.wait_for(lambda s: s["status"] == "paused", 30)
    assert st["status"] == "paused"
    h.save()  # answered while paused, at the step the pause held
    assert _wait_event(h, "saved")["step"] == h.status()["step"]
    h.resume()
    held = st["step"]
    assert h.wait_for(lambda s: s["step"] > held + 2, 60)["step"] > held + 2
    with pytest.raises(JobBusyError, match="already running"):
        spawn(small_cfg(), tmp_path)
    pid = h.pid
    h.stop()
    assert h.wait(60)
    assert h.status()["status"] == "stopped"
    _wait_gone(pid)
    assert runs.read_lock(tmp_path) is None, "the lock goes with the job"
    nxt = spawn(small_cfg(**{"train.steps": 3}), tmp_path)
    assert nxt.wait(120) and nxt.status()["status"] == "finished"


def _wait_gone(pid: int, timeout: float = 30) -> None:
    """Reap or wait for a process to end."""
    done = threading.Event()

    def reaper():
        while runs.pid_alive(pid) and not done.wait(0.05):
            launch.reap()

    t = threading.Thread(target=reaper)
    t.start()
    t.join(timeout)
    done.set()
    assert not runs.pid_alive(pid), f"process {pid} still runs"


@pytest.mark.parametrize(
    "how, reason",
    [("sigkill", "SIGKILL"), ("segfault", "SIGSEGV")],
)
def test_a_process_that_dies_without_a_word_reads_as_failed(tmp_path, how, reason):
    cfg = small_cfg(**{"train.steps": 100_000, "train.checkpoint_every": 10})
    h = spawn(cfg, tmp_path, fault={"at": 25, "kind": how})
    assert h.wait(120)
    st = h.status()
    assert st["status"] == "failed" and reason in st["error"]
    assert str(h.dir / runs.LAST) in st["error"], "the last good checkpoint is offered"
    if how == "segfault":
        assert "Fatal Python error" in st["error"], "faulthandler's stack is in the log's tail"
    assert ckpt.load(h.dir / runs.LAST)["step"] == 20
    nxt = spawn(small_cfg(**{"train.steps": 2}), tmp_path)  # the dead job's lock is stale
    assert nxt.wait(120) and nxt.status()["status"] == "finished"


def test_a_job_killed_by_someone_else_is_seen_by_any_reader(tmp_path):
    """A new server (a fresh RunHandle, no Popen) sees the death through the pid alone."""
    h = spawn(small_cfg(**{"train.steps": 100_000}), tmp_path)
    h.wait_for(lambda s: s.get("step", 0) >= 1, 120)
    pid = h.pid
    launch._children.pop(pid)  # forget it, as a restarted server would
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    st = handle.RunHandle(h.dir).status()
    assert st["status"] == "failed" and "killed or crashed" in st["error"]
    assert runs.read_lock(tmp_path) is None, "a dead holder's lock is stale"


def test_a_cli_run_is_watched_and_stopped_from_outside(tmp_path):
    out = tmp_path / "runs" / "from-cli"
    cmd = [sys.executable, "-m", "dcgan.train", "--preset", "classroom-cpu", "--limit", "512"]
    cmd += ["--ngf", "16", "--ndf", "16", "--steps", "100000", "--out", str(out)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    try:
        h = handle.RunHandle(out)
        st = h.wait_for(lambda s: s.get("step", 0) >= 2, 120)
        assert st["status"] == "running", (st, proc.poll())
        found = handle.current_run(tmp_path / "runs")
        assert found == h, "the app's 'current job' is the CLI's run"
        with pytest.raises(JobBusyError):
            spawn(small_cfg(), tmp_path / "runs")
        found.stop()
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "stopped from the app" in stdout
    assert h.status()["status"] == "stopped"
    assert ckpt.load(out / runs.LAST)["step"] == h.status()["step"]


def test_a_stale_lock_from_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **TEXT)
    runs.write_json(tmp_path / runs.LOCK, {"pid": int(dead.stdout), "run": str(tmp_path / "x")})
    runs.acquire_lock(tmp_path, tmp_path / "y")  # the dead holder's lock is removed on sight
    assert runs.read_lock(tmp_path)["run"] == str(tmp_path / "y")
    with pytest.raises(JobBusyError, match="already"):
        runs.acquire_lock(tmp_path, tmp_path / "z")
    runs.release_lock(tmp_path)
    assert runs.read_lock(tmp_path) is None


TEXT = {"capture_output": True, "text": True}


def test_a_job_slot_is_freed_by_a_failed_start_and_kept_through_a_hand_over(tmp_path):
    with pytest.raises(RuntimeError), runs.JobSlot(tmp_path, tmp_path / "a"):
        assert runs.read_lock(tmp_path)["run"] == str(tmp_path / "a")
        raise RuntimeError("the spawn failed")
    assert runs.read_lock(tmp_path) is None, "a failed start leaves the slot free"
    with runs.JobSlot(tmp_path, tmp_path / "b") as slot:
        slot.point(tmp_path / "b-arm")  # readers follow the slot to the run training now
        slot.hand_over()  # to a thread of this process, which releases it at its end
    assert runs.read_lock(tmp_path)["run"] == str(tmp_path / "b-arm")
    with pytest.raises(JobBusyError, match="already"), runs.JobSlot(tmp_path, tmp_path / "c"):
        pass
    slot.release()
    assert runs.read_lock(tmp_path) is None


def test_a_wait_that_times_out_says_what_it_waited_for(tmp_path):
    d = job.prepare(small_cfg(), tmp_path)  # no process yet: loading, within its start grace
    with pytest.raises(TimeoutError, match="the first step.*'status': 'loading'"):
        handle.RunHandle(d).wait_for(lambda s: s.get("step", 0) >= 1, 0.2, what="the first step")

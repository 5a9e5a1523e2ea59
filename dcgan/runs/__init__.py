"""Run folders: the one interface between a training process and everything that watches it.

A training process (a job started by a UI, an experiment's arm, or `python -m dcgan.train --out
DIR`) writes; any number of readers (the Train page in every browser session, the Latent page,
a second server, the CLI, a comparison view) read, the way TensorBoard readers tail an event
file. Nothing else crosses the boundary, so a reader never touches a live Trainer and never
shares its GIL.

    DIR/config.json            the run's Config (written once, before training)
    DIR/job.json               what the process was asked: resume path, test faults
    DIR/status.json            JobStatus, pid, step, device, error ... (replaced atomically)
    DIR/metrics.jsonl          one JSON row per step, appended every `log_every` steps
    DIR/events.jsonl           marks for the charts: pauses, lr/β1 changes, saves
    DIR/control.jsonl          commands from readers, appended; the process polls it each step
    DIR/grid.png               the latest fixed-noise grid (replaced atomically)
    DIR/grid_raw.png           the same noise through the raw G, when the grid is the EMA's
    DIR/samples/step-*.png     the timeline, thinned to at most history.MAX_TIMELINE frames
    DIR/generator.safetensors  a periodic snapshot of the sampling generator (EMA when on)
    DIR/last.pt                the last good, resumable checkpoint
    DIR/log.txt                the process's stdout and stderr: the reason a crash leaves
    DIR/pid.json               the training process's pid and start time (liveness checks)
    ROOT/.job.lock             "one job at a time" for a runs folder: the pid holding it

This package's top level is what readers need, without torch: the format (folder), liveness
(process), the lock (slot) and the reader (reader). The training side imports torch and is
imported by name: writer (RunWriter), loop (drive, Controls), job (the job process's life),
launch (spawn, the spare process), handle (start_job, RunHandle) and faults (test-only).
"""

from .folder import (
    CONFIG,
    CONTROL,
    ENDED,
    EVENTS,
    GENERATOR,
    GRID,
    GRID_RAW,
    LAST,
    LIVE,
    LOCK,
    LOG,
    METRICS,
    PID,
    SAMPLES,
    SPEC,
    STATUS,
    ControlInbox,
    JobStatus,
    JsonlTail,
    append_jsonl,
    list_runs,
    log_tail,
    read_json,
    send_control,
    timeline,
    write_atomic,
    write_json,
)
from .process import (
    STARTING_GRACE_S,
    checked_record,
    died_reason,
    pid_alive,
    proc_start_time,
    process_alive,
    write_pid,
)
from .reader import SERIES_POINTS, RunReader, Series
from .slot import (
    JobBusyError,
    JobSlot,
    acquire_lock,
    read_lock,
    release_lock,
)

__all__ = [
    "CONFIG",
    "CONTROL",
    "ENDED",
    "EVENTS",
    "GENERATOR",
    "GRID",
    "GRID_RAW",
    "LAST",
    "LIVE",
    "LOCK",
    "LOG",
    "METRICS",
    "PID",
    "SAMPLES",
    "SERIES_POINTS",
    "SPEC",
    "STARTING_GRACE_S",
    "STATUS",
    "ControlInbox",
    "JobBusyError",
    "JobSlot",
    "JobStatus",
    "JsonlTail",
    "RunReader",
    "Series",
    "acquire_lock",
    "append_jsonl",
    "checked_record",
    "died_reason",
    "list_runs",
    "log_tail",
    "pid_alive",
    "proc_start_time",
    "process_alive",
    "read_json",
    "read_lock",
    "release_lock",
    "send_control",
    "timeline",
    "write_atomic",
    "write_json",
    "write_pid",
]

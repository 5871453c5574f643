"""Ingest jobs: writes run one at a time on a worker thread, never on the server's event loop.

The HTTP upload and the UI hand their files to `IngestJobs.submit`; a small upload waits for its
job, a large one gets the job's id at once and follows it at `GET /api/jobs/{id}`. Questions keep
being answered meanwhile (the writer builds a new generation beside the one being read).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .errors import NotFound, OnrecordError
from .ingest import IngestReport

KEEP_FINISHED = 200  # finished jobs remembered for GET /api/jobs/{id}


@dataclass
class Job:
    id: str
    files: list[str]
    status: str = "queued"  # queued | running | done | failed
    done: int = 0  # passages embedded so far
    total: int = 0  # passages to embed (known once the files are parsed)
    report: IngestReport | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    future: Future | None = field(default=None, repr=False)

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total


# what runs a job: (files as (name, bytes), a progress callback(done, total)) -> the report
Runner = Callable[[list[tuple[str, bytes]], Callable[[int, int], None]], IngestReport]


class IngestJobs:
    """One writer thread and the jobs it has run or will run."""

    def __init__(self, run: Runner):
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onrecord-ingest")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, items: list[tuple[str, bytes]]) -> Job:
        job = Job(id=uuid.uuid4().hex[:16], files=[name for name, _ in items])
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.finished is not None]
            for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:
                del self._jobs[old.id]
        job.future = self._pool.submit(self._execute, job, items)
        return job

    def _execute(self, job: Job, items: list[tuple[str, bytes]]) -> IngestReport:
        job.status = "running"
        try:
            job.report = self._run(items, job.progress)
            job.status = "done"
            return job.report
        except OnrecordError as exc:
            job.status, job.error = "failed", str(exc)
            raise
        except Exception as exc:  # reported on the job; the server goes on
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            job.finished = time.time()

    def call(self, fn: Callable[[], object]) -> Future:
        """Run another write (a removal) on the writer thread, after the jobs queued before it."""
        return self._pool.submit(fn)

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no ingest job with id '{job_id}'")
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)

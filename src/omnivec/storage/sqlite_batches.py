"""BatchStore on SQLite."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import islice
from typing import Any

import orjson

from omnivec.storage.records import BatchItem, BatchJob, ItemError, ItemResult
from omnivec.storage.sqlite_db import SqliteDatabase, from_us, opt_from_us, opt_us, to_us
from omnivec.types import BatchState

_JOB_COLUMNS = (
    "job_id, owner, model, display_name, priority, state, input_file, request_count, succeeded, failed, "
    "checkpoint, output_file, error_code, error_status, error_message, cancel_requested, "
    "create_us, update_us, start_us, end_us, expire_us"
)
_UNFINISHED = (BatchState.PENDING.value, BatchState.RUNNING.value)
_INSERT_BATCH = 500
# Items deleted per transaction when a job goes.
_DELETE_BATCH = 2000


class SqliteBatchStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        # Jobs being created by this process: their items have no job row yet, and are not orphans.
        self._creating: set[str] = set()
        self._creating_lock = threading.Lock()

    def initialized(self) -> bool:
        return self.db.exists()

    def create(self, job: BatchJob, items: Iterable[BatchItem]) -> BatchJob:
        # Items are read (parsed) outside the write lock and written a few hundred at a time,
        # so a million-line job never holds up other writes for more than one small transaction.
        count = 0
        iterator = iter(items)
        with self._creating_lock:
            self._creating.add(job.job_id)
        try:
            while rows := [_item_row(job.job_id, item) for item in islice(iterator, _INSERT_BATCH)]:
                self.db.write(_insert_items(rows))
                count += len(rows)
            row = _job_row(replace(job, request_count=count))
            self.db.write(
                lambda c: c.execute(
                    f"INSERT INTO batch_jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * 21)})", row
                )
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self._drop_items_in_steps(job.job_id)
            raise
        finally:
            with self._creating_lock:
                self._creating.discard(job.job_id)
        stored = self.get_any(job.job_id)
        assert stored is not None and stored.request_count == count
        return stored

    def drop_orphans(self) -> int:
        orphans = self.db.read(
            lambda c: [
                r[0]
                for r in c.execute(
                    "SELECT DISTINCT job_id FROM batch_items "
                    "WHERE job_id NOT IN (SELECT job_id FROM batch_jobs)"
                ).fetchall()
            ]
        )
        with self._creating_lock:
            orphans = [j for j in orphans if j not in self._creating]
        for job_id in orphans:
            self._drop_items_in_steps(job_id)
        return len(orphans)

    def _drop_items_in_steps(self, job_id: str) -> None:
        """Delete a job's items a bounded number per transaction."""
        while self.db.write(
            lambda c: (
                c.execute(
                    "DELETE FROM batch_items WHERE job_id = ? AND idx IN "
                    "(SELECT idx FROM batch_items WHERE job_id = ? LIMIT ?)",
                    (job_id, job_id, _DELETE_BATCH),
                ).rowcount
            )
        ):
            pass

    def get(self, owner: str, job_id: str) -> BatchJob | None:
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE job_id = ? AND owner = ?", (job_id, owner)
            ).fetchone()
        )
        return _job(row) if row else None

    def get_any(self, job_id: str) -> BatchJob | None:
        row = self.db.read(_select_job(job_id))
        return _job(row) if row else None

    def list_jobs(self, owner: str, offset: int, limit: int) -> list[BatchJob]:
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE owner = ? "
                "ORDER BY create_us DESC, job_id LIMIT ? OFFSET ?",
                (owner, limit, offset),
            ).fetchall()
        )
        return [_job(r) for r in rows]

    def delete(self, owner: str, job_id: str) -> bool:
        gone = self.db.write(
            lambda c: (
                c.execute("DELETE FROM batch_jobs WHERE job_id = ? AND owner = ?", (job_id, owner)).rowcount
            )
        )
        if gone:
            # The job is gone once its row is; its items follow in small steps. Items that cannot
            # be deleted now (a damaged page) are orphans, removed at the next start.
            with contextlib.suppress(Exception):
                self._drop_items_in_steps(job_id)
        return gone == 1

    def next_claimable(
        self, after_owner: str | None = None, skip: frozenset[str] = frozenset()
    ) -> BatchJob | None:
        excluded = f" AND job_id NOT IN ({', '.join('?' * len(skip))})" if skip else ""

        def run(c: sqlite3.Connection) -> Any:
            # Owners after the last one first, then from the start: round-robin by name.
            owner = c.execute(
                f"SELECT owner FROM batch_jobs WHERE state IN (?, ?){excluded} GROUP BY owner "
                "ORDER BY (? IS NOT NULL AND owner <= ?), owner LIMIT 1",
                (*_UNFINISHED, *skip, after_owner, after_owner),
            ).fetchone()
            if owner is None:
                return None
            return c.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE owner = ? AND state IN (?, ?){excluded} "
                "ORDER BY priority DESC, create_us, job_id LIMIT 1",
                (owner[0], *_UNFINISHED, *skip),
            ).fetchone()

        row = self.db.read(run)
        return _job(row) if row else None

    def fail(self, job_id: str, error: ItemError, now: datetime) -> bool:
        now_us = to_us(now)
        changed = self.db.write(
            lambda c: (
                c.execute(
                    "UPDATE batch_jobs SET state = ?, update_us = ?, end_us = ?, error_code = ?, "
                    "error_status = ?, error_message = ? WHERE job_id = ? AND state IN (?, ?)",
                    (
                        BatchState.FAILED.value,
                        now_us,
                        now_us,
                        error.code,
                        error.status,
                        error.message,
                        job_id,
                        *_UNFINISHED,
                    ),
                ).rowcount
            )
        )
        return bool(changed == 1)

    def transition(
        self,
        job_id: str,
        expected: BatchState,
        to: BatchState,
        now: datetime,
        *,
        error: ItemError | None = None,
        output_file: str | None = None,
    ) -> BatchJob | None:
        now_us = to_us(now)

        def run(conn: sqlite3.Connection) -> Any:
            changed = conn.execute(
                "UPDATE batch_jobs SET state = ?, update_us = ?, "
                "start_us = CASE WHEN ? = 'RUNNING' AND start_us IS NULL THEN ? ELSE start_us END, "
                "end_us = CASE WHEN ? NOT IN ('PENDING', 'RUNNING') THEN ? ELSE end_us END, "
                "error_code = COALESCE(?, error_code), error_status = COALESCE(?, error_status), "
                "error_message = COALESCE(?, error_message), output_file = COALESCE(?, output_file) "
                "WHERE job_id = ? AND state = ?",
                (
                    to.value,
                    now_us,
                    to.value,
                    now_us,
                    to.value,
                    now_us,
                    error.code if error else None,
                    error.status if error else None,
                    error.message if error else None,
                    output_file,
                    job_id,
                    expected.value,
                ),
            )
            return _select_job(job_id)(conn) if changed.rowcount == 1 else None

        row = self.db.write(run)
        return _job(row) if row else None

    def request_cancel(self, job_id: str, now: datetime) -> bool:
        cursor = self.db.write(
            lambda c: c.execute(
                "UPDATE batch_jobs SET cancel_requested = 1, update_us = ? WHERE job_id = ? AND state = ?",
                (to_us(now), job_id, BatchState.RUNNING.value),
            )
        )
        return cursor.rowcount == 1

    def overdue(self, now: datetime) -> list[BatchJob]:
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE state IN (?, ?) AND expire_us <= ?",
                (*_UNFINISHED, to_us(now)),
            ).fetchall()
        )
        return [_job(r) for r in rows]

    def items(self, job_id: str, start: int, limit: int) -> list[BatchItem]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT idx, key, metadata, payload, input_error FROM batch_items "
                "WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
                (job_id, start, limit),
            ).fetchall()
        )
        return [_item(r) for r in rows]

    def commit_chunk(
        self, job_id: str, start: int, results: Sequence[ItemResult], now: datetime
    ) -> BatchJob | None:
        succeeded = sum(1 for r in results if r.error is None)

        def run(conn: sqlite3.Connection) -> Any:
            moved = conn.execute(
                "UPDATE batch_jobs SET checkpoint = checkpoint + ?, succeeded = succeeded + ?, "
                "failed = failed + ?, update_us = ? WHERE job_id = ? AND state = ? AND checkpoint = ?",
                (
                    len(results),
                    succeeded,
                    len(results) - succeeded,
                    to_us(now),
                    job_id,
                    BatchState.RUNNING.value,
                    start,
                ),
            )
            if moved.rowcount != 1:
                return None
            conn.executemany(
                "UPDATE batch_items SET done = 1, vector = ?, token_count = ?, error = ? "
                "WHERE job_id = ? AND idx = ?",
                [(r.vector, r.token_count, _error_json(r.error), job_id, r.index) for r in results],
            )
            return _select_job(job_id)(conn)

        row = self.db.write(run)
        return _job(row) if row else None

    def results(self, job_id: str, start: int, limit: int) -> list[tuple[BatchItem, ItemResult]]:
        rows = self.db.read(
            lambda c: c.execute(
                "SELECT idx, key, metadata, NULL, input_error, vector, token_count, error FROM batch_items "
                "WHERE job_id = ? AND idx >= ? AND done = 1 ORDER BY idx LIMIT ?",
                (job_id, start, limit),
            ).fetchall()
        )
        return [(_item(r[:5]), ItemResult(int(r[0]), r[5], int(r[6]), _error(r[7]))) for r in rows]

    def drop_items(self, job_id: str) -> None:
        self._drop_items_in_steps(job_id)


def _insert_items(rows: list[tuple[Any, ...]]) -> Callable[[sqlite3.Connection], object]:
    return lambda c: c.executemany(
        "INSERT INTO batch_items (job_id, idx, key, metadata, payload, input_error) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def _select_job(job_id: str) -> Any:
    return lambda c: c.execute(
        f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE job_id = ?", (job_id,)
    ).fetchone()


def _job_row(j: BatchJob) -> tuple[Any, ...]:
    return (
        j.job_id,
        j.owner,
        j.model,
        j.display_name,
        j.priority,
        j.state.value,
        j.input_file,
        j.request_count,
        j.succeeded,
        j.failed,
        j.checkpoint,
        j.output_file,
        j.error.code if j.error else None,
        j.error.status if j.error else None,
        j.error.message if j.error else None,
        int(j.cancel_requested),
        to_us(j.create_time),
        to_us(j.update_time),
        opt_us(j.start_time),
        opt_us(j.end_time),
        to_us(j.expire_time),
    )


def _job(row: Any) -> BatchJob:
    (
        job_id,
        owner,
        model,
        display_name,
        priority,
        state,
        input_file,
        request_count,
        succeeded,
        failed,
        checkpoint,
        output_file,
        error_code,
        error_status,
        error_message,
        cancel_requested,
        create_us,
        update_us,
        start_us,
        end_us,
        expire_us,
    ) = row
    error = None if error_code is None else ItemError(int(error_code), str(error_status), str(error_message))
    return BatchJob(
        job_id=job_id,
        owner=owner,
        model=model,
        display_name=display_name,
        priority=int(priority),
        state=BatchState(state),
        input_file=input_file,
        request_count=int(request_count),
        succeeded=int(succeeded),
        failed=int(failed),
        checkpoint=int(checkpoint),
        create_time=from_us(create_us),
        update_time=from_us(update_us),
        expire_time=from_us(expire_us),
        start_time=opt_from_us(start_us),
        end_time=opt_from_us(end_us),
        output_file=output_file,
        error=error,
        cancel_requested=bool(cancel_requested),
    )


def _item_row(job_id: str, item: BatchItem) -> tuple[Any, ...]:
    return (job_id, item.index, item.key, item.metadata, item.payload, _error_json(item.error))


def _item(row: Any) -> BatchItem:
    idx, key, metadata, payload, input_error = row
    return BatchItem(int(idx), key, metadata, payload, _error(input_error))


def _error_json(error: ItemError | None) -> str | None:
    if error is None:
        return None
    return orjson.dumps({"code": error.code, "status": error.status, "message": error.message}).decode()


def _error(text: str | None) -> ItemError | None:
    if text is None:
        return None
    data = orjson.loads(text)
    return ItemError(int(data["code"]), str(data["status"]), str(data["message"]))

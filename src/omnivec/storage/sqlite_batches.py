"""BatchStore on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
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


class SqliteBatchStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def initialized(self) -> bool:
        return self.db.exists()

    def create(self, job: BatchJob, items: Iterable[BatchItem]) -> BatchJob:
        def run(conn: sqlite3.Connection) -> int:
            conn.execute(
                f"INSERT INTO batch_jobs ({_JOB_COLUMNS}) VALUES ({', '.join('?' * 21)})", _job_row(job)
            )
            count = 0
            iterator = iter(items)
            while rows := [_item_row(job.job_id, item) for item in islice(iterator, _INSERT_BATCH)]:
                conn.executemany(
                    "INSERT INTO batch_items (job_id, idx, key, metadata, payload, input_error) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                count += len(rows)
            conn.execute("UPDATE batch_jobs SET request_count = ? WHERE job_id = ?", (count, job.job_id))
            return count

        count = self.db.write(run)
        stored = self.get_any(job.job_id)
        assert stored is not None and stored.request_count == count
        return stored

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
        def run(conn: sqlite3.Connection) -> bool:
            gone = conn.execute("DELETE FROM batch_jobs WHERE job_id = ? AND owner = ?", (job_id, owner))
            if gone.rowcount:
                conn.execute("DELETE FROM batch_items WHERE job_id = ?", (job_id,))
            return gone.rowcount == 1

        return self.db.write(run)

    def next_claimable(self) -> BatchJob | None:
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE state IN (?, ?) "
                "ORDER BY priority DESC, create_us, job_id LIMIT 1",
                _UNFINISHED,
            ).fetchone()
        )
        return _job(row) if row else None

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
        self.db.write(lambda c: c.execute("DELETE FROM batch_items WHERE job_id = ?", (job_id,)))


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

"""Jobs that keep failing: after ``max_attempts`` failures in a row a job is given up on (FAILED
with the reason), so one damaged job never holds up the others."""

from __future__ import annotations

from omnivec.storage.records import ItemError


def gave_up(attempts: int) -> ItemError:
    return ItemError(
        13,
        "INTERNAL",
        f"The batch could not be run: it failed {attempts} times in a row (its stored requests may be "
        "damaged). Create it again.",
    )


class Attempts:
    """Failures in a row per job (in memory: a restart gives every job a fresh start)."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self._failures: dict[str, int] = {}
        self.given_up: set[str] = set()  # jobs the store could not even be told about

    def failed(self, job_id: str) -> bool:
        """Count a failure; True when the job has now failed too often."""
        count = self._failures.get(job_id, 0) + 1
        self._failures[job_id] = count
        return count >= self.max_attempts

    def count(self, job_id: str) -> int:
        return self._failures.get(job_id, 0)

    def succeeded(self, job_id: str) -> None:
        self._failures.pop(job_id, None)

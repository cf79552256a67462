"""Writing a finished file-input job's results as its output JSONL file."""

from __future__ import annotations

from collections.abc import Iterator

from omnivec.services.batch_items import output_line
from omnivec.services.file_names import GENERATED_PREFIX
from omnivec.services.files import FilesService
from omnivec.storage.interfaces import BatchStore
from omnivec.storage.records import BatchJob

# Results read from the store at a time while the file is written.
_PAGE = 500


def output_file_id(job: BatchJob) -> str:
    return f"{GENERATED_PREFIX}{job.job_id}"


def write_output(store: BatchStore, files: FilesService, job: BatchJob) -> str:
    """Write the output file (blocking: call it off the event loop); returns its name. The blob
    is written under a temporary name and published whole, so a crash leaves no half file."""
    file_id = output_file_id(job)

    def lines() -> Iterator[bytes]:
        start = 0
        while page := store.results(job.job_id, start, _PAGE):
            for item, result in page:
                yield output_line(item, result)
            start = page[-1][0].index + 1

    files.write_generated(job.owner, file_id, f"Output of batches/{job.job_id}", "application/jsonl", lines())
    return f"files/{file_id}"

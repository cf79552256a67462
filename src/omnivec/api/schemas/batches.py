"""AsyncBatchEmbedContentRequest, the batch Operation, and reading batch requests (inline or
JSONL lines) one at a time, so a malformed request becomes that request's error."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field, ValidationError

from omnivec.api.errors import validation_error
from omnivec.api.schemas.common import WireModel
from omnivec.api.schemas.embeddings import EmbedContentRequestSchema
from omnivec.api.schemas.files import Int64, rfc3339
from omnivec.errors import InvalidArgument, OmnivecError
from omnivec.services.batch_items import result_json
from omnivec.services.batches import BatchRequest
from omnivec.services.catalogue import ModelCatalogue
from omnivec.storage.records import BatchItem, BatchJob, ItemResult
from omnivec.types import BatchState

_TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage.v1main."


class InlinedRequestsSchema(WireModel):
    # Items stay raw here: each is read on its own, so one bad item cannot sink the batch.
    requests: list[Any] = Field(default_factory=list)


class InputConfigSchema(WireModel):
    file_name: str | None = None
    requests: InlinedRequestsSchema | None = None


class EmbedContentBatchSchema(WireModel):
    model: str | None = None
    display_name: str = ""
    input_config: InputConfigSchema
    priority: Int64 = 0


class AsyncBatchEmbedContentRequestSchema(WireModel):
    batch: EmbedContentBatchSchema


class InlinedRequestSchema(WireModel):
    request: EmbedContentRequestSchema
    metadata: dict[str, Any] | None = None


class JsonlLineSchema(WireModel):
    key: str | None = None
    request: EmbedContentRequestSchema
    metadata: dict[str, Any] | None = None


class RequestReader:
    """Reads batch requests for one job, checking each request's ``model`` against the job's."""

    def __init__(self, catalogue: ModelCatalogue, model: str) -> None:
        self.catalogue = catalogue
        self.model = catalogue.resolve(model).name
        self.model_path = model

    def inlined(self, index: int, raw: Any) -> BatchRequest:
        field = f"batch.inputConfig.requests.requests[{index}]"
        metadata = raw.get("metadata") if isinstance(raw, dict) else None
        try:
            item = InlinedRequestSchema.model_validate(raw)
        except ValidationError as exc:
            return BatchRequest(metadata=_json_object(metadata), error=validation_error(exc, field))
        return self._checked(item.request, field + ".request", metadata=item.metadata)

    def jsonl_line(self, index: int, line: bytes) -> BatchRequest:
        field = f"line {index + 1}"
        if index == 0:
            line = line.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark some editors write
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError:
            return BatchRequest(error=InvalidArgument(f"{field} of the input file is not valid JSON."))
        key = raw.get("key") if isinstance(raw, dict) else None
        key = key if isinstance(key, str) else None
        try:
            item = JsonlLineSchema.model_validate(raw)
        except ValidationError as exc:
            return BatchRequest(key=key, error=validation_error(exc, field))
        return self._checked(item.request, field + ".request", key=item.key, metadata=item.metadata)

    def _checked(
        self, request: EmbedContentRequestSchema, field: str, *, key: str | None = None, metadata: Any = None
    ) -> BatchRequest:
        try:
            if request.model and self.catalogue.resolve(request.model).name != self.model:
                raise InvalidArgument.at(
                    field + ".model",
                    f"{request.model} does not match the batch's model, models/{self.model_path}",
                )
            return BatchRequest(key=key, metadata=metadata, input=request.to_domain())
        except OmnivecError as exc:
            return BatchRequest(key=key, metadata=metadata, error=exc)


def _json_object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def operation_json(
    job: BatchJob, results: list[tuple[BatchItem, ItemResult]] | None = None
) -> dict[str, Any]:
    """The batch as a long-running Operation whose ``metadata`` is the EmbedContentBatch (all
    the SDK reads). ``results`` (inline jobs) fill ``output.inlinedResponses``."""
    name = f"batches/{job.job_id}"
    metadata: dict[str, Any] = {
        "@type": _TYPE_PREFIX + "EmbedContentBatch",
        "model": job.model,
        # Google omits empty lists; an inline job's requests are not echoed back.
        "inputConfig": {"fileName": job.input_file} if job.input_file else {"requests": {}},
        "createTime": rfc3339(job.create_time),
        "updateTime": rfc3339(job.update_time),
        "batchStats": {
            "requestCount": str(job.request_count),
            "pendingRequestCount": str(job.pending),
            "successfulRequestCount": str(job.succeeded),
            "failedRequestCount": str(job.failed),
        },
        "state": f"BATCH_STATE_{job.state.value}",
        "name": name,
        "priority": str(job.priority),
    }
    if job.display_name:
        metadata["displayName"] = job.display_name
    if job.end_time is not None:
        metadata["endTime"] = rfc3339(job.end_time)
    output: dict[str, Any] | None = None
    if job.output_file:
        output = {"responsesFile": job.output_file}
    elif results:
        output = {"inlinedResponses": {"inlinedResponses": [result_json(i, r) for i, r in results]}}
    if output is not None:
        metadata["output"] = output
    operation: dict[str, Any] = {"name": name, "metadata": metadata}
    if job.state.is_terminal:
        operation["done"] = True
        if job.state is BatchState.SUCCEEDED:
            operation["response"] = {
                "@type": _TYPE_PREFIX + "AsyncBatchEmbedContentResponse",
                "output": output or {},
            }
        elif job.error is not None:
            operation["error"] = {"code": job.error.code, "message": job.error.message}
    return operation

"""The hostile-input corpus: requests a search or RAG pipeline may forward from its users, and what
the server must answer to each.

Each case is data: method, path, headers, body bytes, the expected status, and a fragment of the
error message that names the problem. ``raw`` cases are whole HTTP/1.1 requests sent byte for byte
(for what an HTTP client library would normalise away). ``http_layer`` cases are refused by the
HTTP parser before the app sees them: a 4xx, not JSON. ``text`` cases are valid requests with
hostile text that must reach the tokenizer and come back 200; they also run against the real
MiniLM.

Paths use the alias ``gemini-embedding-001``, so the same corpus runs against any served model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

MODEL = "gemini-embedding-001"
EMBED = f"/v1beta/models/{MODEL}:embedContent"
BATCH = f"/v1beta/models/{MODEL}:batchEmbedContents"
# The corpus server runs with this body limit, so oversized bodies stay cheap to build.
CORPUS_MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_TEXT_CHARS = 1_000_000


@dataclass(frozen=True)
class Case:
    id: str
    body: bytes = b""
    status: int = 400
    fragment: str = ""
    method: str = "POST"
    path: str = EMBED
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    raw: bool = False
    http_layer: bool = False
    text: bool = False
    # The API dialect whose error shape the answer must have (see DIALECT_CASES).
    dialect: str = "gemini"


def j(value: object) -> bytes:
    return orjson.dumps(value)


def content(*parts: object, **extra: object) -> bytes:
    return j({"content": {"parts": list(parts)}, **extra})


def text(value: str, **extra: object) -> bytes:
    return content({"text": value}, **extra)


def batch(*requests: object) -> bytes:
    return j({"requests": list(requests)})


def item(value: str = "hello", **extra: object) -> dict[str, object]:
    return {"model": f"models/{MODEL}", "content": {"parts": [{"text": value}]}, **extra}


def raw(method: str, target: bytes, body: bytes = b"{}", extra_headers: bytes = b"") -> bytes:
    framed = any(h in extra_headers.lower() for h in (b"content-length", b"transfer-encoding"))
    length = b"" if framed else b"Content-Length: %d\r\n" % len(body)
    return (
        method.encode()
        + b" "
        + target
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + length
        + extra_headers
        + b"Connection: close\r\n\r\n"
        + body
    )


VALID = text("hello world")

CASES: list[Case] = [
    # --- not JSON, or not a JSON object -------------------------------------------------------
    Case("empty-body", b"", fragment="request body is empty"),
    Case("whitespace-body", b" \r\n\t ", fragment="request body is empty"),
    Case("broken-json", b'{"content": {"parts": [{"text": "a"}]', fragment="not valid JSON"),
    Case("lone-bracket", b"[", fragment="not valid JSON"),
    Case("trailing-garbage", VALID + b" xyz", fragment="not valid JSON"),
    Case("top-level-array", b"[]", fragment="JSON object at the top level"),
    Case("top-level-string", b'"hello"', fragment="JSON object at the top level"),
    Case("top-level-null", b"null", fragment="JSON object at the top level"),
    Case("top-level-number", b"42", fragment="JSON object at the top level"),
    Case("non-utf8-bytes", b'{"content": {"parts": [{"text": "\xff\xfe\xc3"}]}}', fragment="not valid JSON"),
    Case(
        "utf16-body", '{"content": {"parts": [{"text": "hi"}]}}'.encode("utf-16"), fragment="not valid JSON"
    ),
    Case(
        "lone-surrogate-escape", b'{"content": {"parts": [{"text": "a\\ud800b"}]}}', fragment="not valid JSON"
    ),
    Case(
        "lone-low-surrogate-key",
        b'{"\\udc00": 1, "content": {"parts": [{"text": "a"}]}}',
        fragment="not valid JSON",
    ),
    Case("deep-nesting-100k", b"[" * 100_000 + b"]" * 100_000, fragment="not valid JSON"),
    Case(
        "deep-nesting-in-field",
        b'{"content": {"parts": [{"text": "a"}]}, "x": ' + b"[" * 1100 + b"]" * 1100 + b"}",
        fragment="not valid JSON",
    ),
    Case("deep-nesting-typed-field", b'{"content": ' + b"[" * 500 + b"]" * 500 + b"}", fragment="content"),
    Case(
        "json5-nan",
        b"{'content': {'parts': [{'text': 'a'}]}, 'outputDimensionality': NaN}",
        fragment="outputDimensionality",
    ),
    Case("number-overflow", VALID[:-1] + b', "outputDimensionality": 1e400}', fragment="not valid JSON"),
    Case(
        "integer-5000-digits",
        VALID[:-1] + b', "outputDimensionality": ' + b"9" * 5000 + b"}",
        fragment="not valid JSON",
    ),
    Case("json5-lenient-ok", b"{'content': {'parts': [{'text': 'hi'}]},}", status=200),
    # --- wrong shapes and types ---------------------------------------------------------------
    Case("no-content", j({}), fragment="content"),
    Case("content-null", j({"content": None}), fragment="content"),
    Case("content-string", j({"content": "hello"}), fragment="content"),
    Case("parts-object", j({"content": {"parts": {"text": "a"}}}), fragment="content.parts"),
    Case("parts-empty", content(), fragment="at least one part"),
    Case("part-empty-object", content({}), fragment="a part needs one of"),
    Case("part-text-null", content({"text": None}), fragment="a part needs one of"),
    Case(
        "part-two-kinds",
        content({"text": "a", "inlineData": {"mimeType": "image/png", "data": "AA=="}}),
        fragment="only one of",
    ),
    Case("part-text-number", content({"text": 5}), fragment="content.parts[0].text"),
    Case("part-text-list", content({"text": ["a"]}), fragment="content.parts[0].text"),
    Case("part-is-string", content("hello"), fragment="content.parts[0]"),
    Case("role-number", j({"content": {"role": 7, "parts": [{"text": "a"}]}}), fragment="content.role"),
    Case("parts-10000", content(*({"text": "a"} for _ in range(10_000))), fragment="at most 64 parts"),
    Case(
        "text-over-limit", text("a" * (MAX_TEXT_CHARS + 1)), fragment=f"at most {MAX_TEXT_CHARS} characters"
    ),
    Case("model-field-number", j({"model": 5, "content": {"parts": [{"text": "a"}]}}), fragment="model"),
    Case("title-object", text("a", title={"x": 1}), fragment="title"),
    Case(
        "auto-truncate-string",
        text("a", embedContentConfig={"autoTruncate": "maybe"}),
        fragment="autoTruncate",
    ),
    Case("config-not-object", text("a", embedContentConfig=[1]), fragment="embedContentConfig"),
    # --- enums ---------------------------------------------------------------------------------
    Case("task-type-unknown", text("a", taskType="FOO"), fragment="must be one of"),
    Case("task-type-number-out-of-range", text("a", taskType=99), fragment="not a TaskType number"),
    Case("task-type-bool", text("a", taskType=True), fragment="TaskType"),
    Case("task-type-list", text("a", taskType=["RETRIEVAL_QUERY"]), fragment="taskType"),
    Case(
        "task-type-config-unknown",
        text("a", embedContentConfig={"taskType": "SEARCH"}),
        fragment="must be one of",
    ),
    Case("task-type-lowercase-ok", text("a", taskType="retrieval_query"), status=200),
    # --- outputDimensionality -------------------------------------------------------------------
    Case("dims-zero", text("a", outputDimensionality=0), fragment="must be between 1 and"),
    Case("dims-negative", text("a", outputDimensionality=-1), fragment="must be between 1 and"),
    Case("dims-huge", text("a", outputDimensionality=10**12), fragment="outputDimensionality"),
    Case("dims-fraction", text("a", outputDimensionality=1.5), fragment="outputDimensionality"),
    Case("dims-string", text("a", outputDimensionality="abc"), fragment="outputDimensionality"),
    Case("dims-true", text("a", outputDimensionality=True), fragment="not a boolean"),
    Case("dims-list", text("a", outputDimensionality=[8]), fragment="outputDimensionality"),
    Case(
        "dims-config-zero",
        text("a", embedContentConfig={"outputDimensionality": 0}),
        fragment="must be between 1 and",
    ),
    Case("dims-above-native", text("a", outputDimensionality=100_000), fragment="must be between 1 and"),
    Case("dims-numeric-string-ok", text("a", outputDimensionality="8"), status=200),
    # --- inline data and file references (refused by a text-only server) -----------------------
    Case(
        "base64-invalid",
        content({"inlineData": {"mimeType": "image/png", "data": "!!!!"}}),
        fragment="not valid base64",
    ),
    Case(
        "base64-bad-length",
        content({"inlineData": {"mimeType": "image/png", "data": "abcde"}}),
        fragment="bad length",
    ),
    Case(
        "base64-non-ascii",
        content({"inlineData": {"mimeType": "image/png", "data": "ééé"}}),
        fragment="non-ASCII",
    ),
    Case("base64-number", content({"inlineData": {"mimeType": "image/png", "data": 12}}), fragment="base64"),
    Case(
        "inline-garbage-png",
        content({"inlineData": {"mimeType": "image/png", "data": "AAAA"}}),
        fragment="parts[0]",
    ),
    Case(
        "mime-type-lying",
        content({"inlineData": {"mimeType": "image/png", "data": "SGVsbG8="}}),
        fragment="parts[0]",
    ),
    Case(
        "file-uri-metadata-ip",
        content({"fileData": {"fileUri": "http://169.254.169.254/latest/meta-data/"}}),
        fragment="parts[0]",
    ),
    Case(
        "file-uri-local-file", content({"fileData": {"fileUri": "file:///etc/passwd"}}), fragment="parts[0]"
    ),
    Case("file-uri-gcs", content({"fileData": {"fileUri": "gs://bucket/object"}}), fragment="parts[0]"),
    Case("file-uri-missing", content({"fileData": {"mimeType": "image/png"}}), fragment="fileUri"),
    # --- batchEmbedContents ---------------------------------------------------------------------
    Case("batch-no-requests", j({}), path=BATCH, fragment="requests"),
    Case("batch-empty", batch(), path=BATCH, fragment="at least one request"),
    Case(
        "batch-101", batch(*(item(f"t{i}") for i in range(101))), path=BATCH, fragment="at most 100 requests"
    ),
    Case("batch-requests-string", j({"requests": "x"}), path=BATCH, fragment="requests"),
    Case(
        "batch-model-unknown",
        batch(item(), {**item(), "model": "models/other"}),
        path=BATCH,
        status=404,
        fragment="not found",
    ),
    Case(
        "batch-bad-item",
        batch(item(), item(), {"content": {"parts": [{"text": 5}]}}),
        path=BATCH,
        fragment="requests[2].content.parts[0].text",
    ),
    Case(
        "batch-dims-zero",
        batch(item(), item(outputDimensionality=0)),
        path=BATCH,
        fragment="requests[1].outputDimensionality",
    ),
    Case("batch-100-ok", batch(*(item(f"t{i}") for i in range(100))), path=BATCH, status=200),
    # --- model names and paths -------------------------------------------------------------------
    Case(
        "model-unknown",
        VALID,
        path="/v1beta/models/no-such-model:embedContent",
        status=404,
        fragment="models/no-such-model is not found",
    ),
    Case(
        "model-dotdot",
        raw("POST", b"/v1beta/models/..:embedContent", VALID),
        raw=True,
        status=404,
        fragment="not found",
    ),
    Case(
        "model-dotdot-traversal",
        raw("POST", b"/v1beta/models/../../etc/passwd:embedContent", VALID),
        raw=True,
        status=404,
        fragment="not found",
    ),
    Case(
        "model-encoded-slash",
        raw("POST", b"/v1beta/models/a%2F..%2Fb:embedContent", VALID),
        raw=True,
        status=404,
        fragment="not found",
    ),
    Case(
        "model-encoded-nul",
        raw("POST", b"/v1beta/models/a%00b:embedContent", VALID),
        raw=True,
        status=404,
        fragment="is not found",
    ),
    Case(
        "model-invalid-percent",
        raw("POST", b"/v1beta/models/a%ff%fe:embedContent", VALID),
        raw=True,
        status=404,
        fragment="is not found",
    ),
    Case(
        "model-long-name",
        VALID,
        path="/v1beta/models/" + "m" * 5000 + ":embedContent",
        status=404,
        fragment="is not found",
    ),
    Case(
        "model-huge-name",
        raw("POST", b"/v1beta/models/" + b"m" * 100_000 + b":embedContent", VALID),
        raw=True,
        http_layer=True,
    ),
    Case(
        "model-raw-non-ascii",
        raw("POST", b"/v1beta/models/\xc3\xa9\xff:embedContent", VALID),
        raw=True,
        http_layer=True,
    ),
    Case(
        "unknown-verb",
        VALID,
        path=f"/v1beta/models/{MODEL}:generateEverything",
        status=404,
        fragment="Method not found",
    ),
    Case("no-verb", VALID, path=f"/v1beta/models/{MODEL}", status=404, fragment="Method not found"),
    Case(
        "unknown-collection",
        VALID,
        path="/v1beta/widgets/x:embedContent",
        status=404,
        fragment="Method not found",
    ),
    Case(
        "double-slash",
        VALID,
        path=f"/v1beta//models/{MODEL}:embedContent",
        status=404,
        fragment="Method not found",
    ),
    # --- HTTP methods ----------------------------------------------------------------------------
    Case("get-on-embed", b"", method="GET", status=404, fragment="not found"),
    Case("put-on-embed", VALID, method="PUT", status=404, fragment="Method not found"),
    Case("delete-on-embed", b"", method="DELETE", status=404, fragment="Method not found"),
    Case("patch-on-batch", VALID, method="PATCH", path=BATCH, status=404, fragment="Method not found"),
    Case("unknown-http-method", raw("FROB", EMBED.encode(), VALID), raw=True, http_layer=True),
    # --- headers -------------------------------------------------------------------------------
    Case("content-type-png", VALID, headers={"content-type": "image/png"}, fragment="Invalid Content-Type"),
    Case(
        "content-type-multipart",
        VALID,
        headers={"content-type": "multipart/form-data; boundary=x"},
        fragment="Invalid Content-Type",
    ),
    Case(
        "content-type-xml",
        VALID,
        headers={"content-type": "application/xml"},
        fragment="Invalid Content-Type",
    ),
    Case(
        "content-encoding-gzip",
        VALID,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
        fragment="Content-Encoding",
    ),
    Case("content-type-absent-ok", VALID, headers={}, status=200),
    Case("content-type-text-plain-ok", VALID, headers={"content-type": "text/plain"}, status=200),
    Case(
        "content-length-negative",
        raw("POST", EMBED.encode(), VALID, b"Content-Length: -1\r\n"),
        raw=True,
        http_layer=True,
    ),
    Case(
        "content-length-junk",
        raw("POST", EMBED.encode(), VALID, b"Content-Length: abc\r\n"),
        raw=True,
        http_layer=True,
    ),
    Case(
        "length-and-chunked",
        raw(
            "POST",
            EMBED.encode(),
            b"2\r\n{}\r\n0\r\n\r\n",
            b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        ),
        raw=True,
        http_layer=True,
    ),
    # --- size --------------------------------------------------------------------------------------
    Case("body-over-limit", text("a" * CORPUS_MAX_BODY_BYTES), fragment="payload size exceeds the limit"),
    Case(
        "chunked-over-limit",
        raw(
            "POST",
            EMBED.encode(),
            # Just past the limit and never finished: the answer must come without the end.
            b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in [b"x" * 1_048_576] * 4 + [b"x" * 16]),
            b"Transfer-Encoding: chunked\r\n",
        ),
        raw=True,
        fragment="payload size exceeds the limit",
    ),
    Case(
        "many-tiny-objects",
        b'{"content": {"parts": [' + b",".join([b'{"text":"a"}'] * 300_000) + b"]}}",
        fragment="more than 100000 JSON objects",
    ),
    Case(
        "huge-unknown-field-ok",
        j({"content": {"parts": [{"text": "a"}]}, "junk": "x" * 2_000_000}),
        status=200,
    ),
    # --- hostile but valid text: must reach the tokenizer and come back 200 ------------------------
    Case("text-nul-escapes", text("a\u0000b\u0000" * 100), status=200, text=True),
    Case(
        "text-raw-control-chars",
        b'{"content": {"parts": [{"text": "a\x01\x02\x1fb"}]}}',
        status=200,
        text=True,
    ),
    Case("text-empty", text(""), status=200, text=True),
    Case("text-whitespace", text(" \t\n\u3000\u00a0" * 50), status=200, text=True),
    Case("text-emoji-zwj", text("👩‍👩‍👧‍👦🏳️‍🌈" * 200), status=200, text=True),
    Case("text-combining-marks", text("a" + "\u0301" * 10_000), status=200, text=True),
    Case("text-bidi-overrides", text("\u202e\u2066abc\u2069\u202c" * 100), status=200, text=True),
    Case("text-noncharacters", text("\ufffe\uffff\U0010ffff\ue000" * 100), status=200, text=True),
    Case("text-one-long-word", text("x" * 50_000), status=200, text=True),
    Case("text-long-auto-truncated", text("word " * 20_000), status=200, text=True),
    Case(
        "text-many-scripts",
        text("日本語 한국어 العربية עברית ไทย देवनागरी Ελληνικά кириллица " * 50),
        status=200,
        text=True,
    ),
    Case(
        "text-json-in-text", text('{"content": {"parts": [{"text": "nested"}]}}' * 50), status=200, text=True
    ),
    Case("text-html-script", text("<script>alert(1)</script>' OR 1=1; --" * 50), status=200, text=True),
    Case("text-gemini-prefix", text("task: search result | query: " * 20), status=200, text=True),
    Case("text-many-parts", content(*({"text": f"part {i}"} for i in range(64))), status=200, text=True),
    Case(
        "text-too-long-no-truncate",
        text("word " * 20_000, embedContentConfig={"autoTruncate": False}),
        fragment="more than the",
        text=True,
    ),
]


# --- the Batch and Files APIs ---------------------------------------------------------------------
ASYNC = f"/v1beta/models/{MODEL}:asyncBatchEmbedContent"
ONE_INLINE = {"requests": {"requests": [{"request": {"content": {"parts": [{"text": "a"}]}}}]}}


def job(**batch: object) -> bytes:
    return j({"batch": batch})


CASES += [
    Case("async-empty-body", b"", path=ASYNC, fragment="request body is empty"),
    Case("async-no-input", job(), path=ASYNC, fragment="batch.inputConfig"),
    Case("async-empty-input", job(inputConfig={}), path=ASYNC, fragment="exactly one of fileName"),
    Case(
        "async-both-inputs",
        job(inputConfig={"fileName": "files/x", **ONE_INLINE}),
        path=ASYNC,
        fragment="exactly one of",
    ),
    Case(
        "async-requests-string",
        job(inputConfig={"requests": {"requests": "x"}}),
        path=ASYNC,
        fragment="requests.requests",
    ),
    Case(
        "async-no-requests",
        job(inputConfig={"requests": {"requests": []}}),
        path=ASYNC,
        fragment="no requests",
    ),
    Case(
        "async-priority-bool",
        job(priority=True, inputConfig=ONE_INLINE),
        path=ASYNC,
        fragment="not a boolean",
    ),
    Case(
        "async-priority-huge",
        job(priority="99999999999999999999", inputConfig=ONE_INLINE),
        path=ASYNC,
        fragment="batch.priority",
    ),
    Case(
        "async-metadata-huge-int-json5",
        b"{'batch': {'inputConfig': {'requests': {'requests': [{'request': {'content': {'parts': [{'text': 'a'}]}}, "
        b"'metadata': {'n': 123456789012345678901234567890}}]}}}}",
        path=ASYNC,
        status=200,
    ),
    Case(
        "async-missing-file",
        job(inputConfig={"fileName": "files/nope"}),
        path=ASYNC,
        status=404,
        fragment="does not exist",
    ),
    Case(
        "async-file-traversal",
        job(inputConfig={"fileName": "../../etc/passwd"}),
        path=ASYNC,
        fragment="not a valid file name",
    ),
    Case(
        "async-unknown-model",
        job(inputConfig=ONE_INLINE),
        path="/v1beta/models/nope:asyncBatchEmbedContent",
        status=404,
        fragment="not found",
    ),
    Case(
        "batch-get-missing", method="GET", path="/v1beta/batches/nope", status=404, fragment="does not exist"
    ),
    Case("batch-get-dotdot", method="GET", path="/v1beta/batches/..", status=404, fragment="not found"),
    Case("batch-cancel-missing", path="/v1beta/batches/nope:cancel", status=404, fragment="does not exist"),
    Case(
        "batch-delete-missing",
        method="DELETE",
        path="/v1beta/batches/nope",
        status=404,
        fragment="does not exist",
    ),
    Case("batch-list-bad-size", method="GET", path="/v1beta/batches?pageSize=abc", fragment="pageSize"),
    Case(
        "batch-list-bad-token", method="GET", path="/v1beta/batches?pageToken=garbage", fragment="pageToken"
    ),
    Case("file-get-missing", method="GET", path="/v1beta/files/nope", status=404, fragment="does not exist"),
    Case("file-get-bad-name", method="GET", path="/v1beta/files/NOPE!", fragment="not a valid file name"),
    Case(
        "file-delete-missing",
        method="DELETE",
        path="/v1beta/files/nope",
        status=404,
        fragment="does not exist",
    ),
    Case(
        "file-download-missing",
        method="GET",
        path="/v1beta/files/nope:download?alt=media",
        status=404,
        fragment="does not exist",
    ),
    Case("file-list-bad-token", method="GET", path="/v1beta/files?pageToken=%ff", fragment="pageToken"),
    Case(
        "upload-start-broken-json",
        b"{not json",
        path="/upload/v1beta/files",
        headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"},
        fragment="not valid JSON",
    ),
    Case(
        "upload-unknown-session",
        b"abc",
        path="/upload/v1beta/files?upload_id=nope",
        headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
        status=404,
        fragment="No upload session",
    ),
    Case(
        "upload-no-protocol",
        b"abc",
        path="/upload/v1beta/files",
        headers={"content-type": "text/plain"},
        fragment="X-Goog-Upload-Protocol",
    ),
]


# --- the other API dialects: each answers in its own error shape --------------------------------
OPENAI = "/v1/embeddings"
JSON = {"content-type": "application/json"}


def oa(case_id: str, body: bytes, fragment: str = "", status: int = 400, path: str = OPENAI) -> Case:
    return Case(case_id, body, status, fragment, path=path, dialect="openai")


def ol(case_id: str, body: bytes, fragment: str = "", status: int = 400, path: str = "/api/embed") -> Case:
    return Case(case_id, body, status, fragment, path=path, dialect="ollama")


def te(case_id: str, body: bytes, fragment: str = "", status: int = 422, path: str = "/embed") -> Case:
    return Case(case_id, body, status, fragment, path=path, dialect="tei")


def co(case_id: str, body: bytes, fragment: str = "", status: int = 400, path: str = "/v2/embed") -> Case:
    return Case(case_id, body, status, fragment, path=path, dialect="cohere")


VERTEX = f"/v1beta1/publishers/google/models/{MODEL}"

DIALECT_CASES: list[Case] = [
    oa("openai-broken-json", b"{nope", "not valid JSON"),
    oa("openai-not-object", b"[1, 2]", "JSON object"),
    oa("openai-no-model", j({"input": "x"}), "model"),
    oa("openai-input-number", j({"model": MODEL, "input": 3}), "input"),
    oa("openai-input-empty", j({"model": MODEL, "input": []}), "at least one"),
    oa("openai-token-ids", j({"model": MODEL, "input": [[1, 2, 3]]}), "token ids"),
    oa("openai-token-ids-mixed", j({"model": MODEL, "input": ["a", [1, 2]]}), "input"),
    oa("openai-token-ids-empty", j({"model": MODEL, "input": [[]]}), "token"),
    oa("openai-token-ids-float", j({"model": MODEL, "input": [[1.5]]}), "input"),
    oa("openai-too-many", j({"model": MODEL, "input": ["a"] * 101}), "at most"),
    oa("openai-dimensions-zero", j({"model": MODEL, "input": "x", "dimensions": 0}), "dimensions"),
    oa("openai-dimensions-huge", j({"model": MODEL, "input": "x", "dimensions": 2**40}), "between"),
    oa(
        "openai-encoding-bogus",
        j({"model": MODEL, "input": "x", "encoding_format": "hex"}),
        "encoding_format",
    ),
    oa("openai-unknown-model", j({"model": "nope", "input": "x"}), "not found", 404),
    oa("openai-google-path", b"{nope", "not valid JSON", path="/v1beta/openai/embeddings"),
    oa("openai-own-path-unknown", j({}), "Method not found", 404, path="/openai/v1/chat/completions"),
    Case(
        "openai-model-missing",
        method="GET",
        path="/openai/v1/models/nope",
        status=404,
        fragment="not found",
        dialect="openai",
    ),
    ol("ollama-broken-json", b"{nope", "not valid JSON"),
    ol("ollama-no-input", j({"model": MODEL}), "input"),
    ol("ollama-input-dict", j({"model": MODEL, "input": {"a": 1}}), "input"),
    ol("ollama-dimensions-huge", j({"model": MODEL, "input": "x", "dimensions": 100000}), "between"),
    ol("ollama-unknown-model", j({"model": "nope:latest", "input": "x"}), "not found", 404),
    ol("ollama-empty-prompt", j({"model": MODEL, "prompt": ""}), "prompt", path="/api/embeddings"),
    ol("ollama-show-nothing", j({}), "model", path="/api/show"),
    ol("ollama-unknown-route", j({}), "Method not found", 404, path="/api/generate"),
    te("tei-broken-json", b"{nope", "not valid JSON"),
    te("tei-inputs-empty", j({"inputs": []}), "at least one"),
    te("tei-inputs-number", j({"inputs": 7}), "inputs"),
    te("tei-prompt-name", j({"inputs": "x", "prompt_name": "poem"}), "prompt name"),
    te("tei-too-long-no-truncate", j({"inputs": "word " * 5000}), "tokens"),
    te("tei-root-broken", b"{nope", "not valid JSON", path="/"),
    te("tei-tokenize-number", j({"inputs": 1}), "inputs", path="/tokenize"),
    te("tei-rerank-no-texts", j({"query": "q", "texts": []}), "at least one", path="/rerank"),
    co("cohere-nothing", j({"model": MODEL}), "exactly one"),
    co(
        "cohere-two-kinds",
        j({"model": MODEL, "texts": ["x"], "images": ["data:image/png;base64,AA=="]}),
        "exactly one",
    ),
    co("cohere-image-url", j({"model": MODEL, "images": ["https://example.com/a.png"]}), "data URI"),
    co("cohere-image-bad-base64", j({"model": MODEL, "images": ["data:image/png;base64,@@@"]}), "base64"),
    co(
        "cohere-embedding-type",
        j({"model": MODEL, "texts": ["x"], "embedding_types": ["float16"]}),
        "embedding_types",
    ),
    co("cohere-truncate-bogus", j({"model": MODEL, "texts": ["x"], "truncate": "MIDDLE"}), "truncate"),
    co("cohere-input-type", j({"model": MODEL, "texts": ["x"], "input_type": "poetry"}), "input_type"),
    co("cohere-content-type", j({"model": MODEL, "inputs": [{"content": [{"type": "audio"}]}]}), "inputs"),
    co("cohere-rerank-no-query", j({"documents": ["a"]}), "query", path="/v2/rerank"),
    co("cohere-rerank-empty", j({"query": "q", "documents": []}), "at least one", path="/v1/rerank"),
    co("cohere-rerank-top-n", j({"query": "q", "documents": ["a"], "top_n": 0}), "top_n", path="/v1/rerank"),
    Case(
        "vertex-predict-too-many",
        j({"instances": [{"content": "x"}] * 251}),
        400,
        "250",
        path=VERTEX + ":predict",
        dialect="vertex",
    ),
    Case(
        "vertex-predict-content-number",
        j({"instances": [{"content": 5}]}),
        400,
        "content",
        path=VERTEX + ":predict",
        dialect="vertex",
    ),
    Case(
        "vertex-unknown-verb",
        j({}),
        404,
        "Method not found",
        path=VERTEX + ":generateContent",
        dialect="vertex",
    ),
    Case(
        "vertex-project-unknown-model",
        j({"instances": [{"content": "x"}]}),
        404,
        "not found",
        path="/v1/projects/p/locations/l/publishers/google/models/nope:predict",
        dialect="vertex",
    ),
    Case(
        "count-tokens-empty",
        j({"contents": []}),
        400,
        "at least one",
        path=f"/v1beta/models/{MODEL}:countTokens",
    ),
    Case("count-text-tokens-no-prompt", j({}), 400, "prompt", path=f"/v1beta/models/{MODEL}:countTextTokens"),
]

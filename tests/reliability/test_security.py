"""Security: keys are kept hashed and never logged, Google's auth errors through the SDK, no
outbound fetch for foreign file URIs, loopback by default."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from google import genai
from google.genai import errors, types

from omnivec.api.auth import KeyRing
from omnivec.api.server import check_bind
from omnivec.errors import FailedPrecondition
from omnivec.settings import Settings

from .harness import SubprocessServer, ThreadServer, google_error, thread_settings

GOOD_KEYS = ("kq7-the-first-GOOD-key-9d1c", "zz3-the-second-GOOD-key-44ab")
BAD_KEY = "BAD-key-that-must-not-be-logged-5e0f"


def sdk(url: str, key: str) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=url, api_version="v1beta"))


@pytest.mark.slow
def test_keys_are_never_logged_or_echoed() -> None:
    """A DEBUG-level server sees good and bad keys by header, query and bearer token, plus
    failing requests; neither its log nor any response contains a key."""
    args = ["--model", "fake:8", "--log-level", "DEBUG"]
    for key in GOOD_KEYS:
        args += ["--api-key", key]
    bodies: list[str] = []
    with SubprocessServer(args) as server:
        embed = "/v1beta/models/fake:embedContent"
        ok = {"content": {"parts": [{"text": "hi"}]}}
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for key in (*GOOD_KEYS, BAD_KEY):
                for r in (
                    http.post(embed, json=ok, headers={"x-goog-api-key": key}),
                    http.post(embed, json=ok, params={"key": key}),
                    http.post(embed, json=ok, headers={"Authorization": f"Bearer {key}"}),
                    http.post(embed, content=b"{broken", headers={"x-goog-api-key": key}),
                    http.post("/v1beta/models/nope:embedContent", json=ok, params={"key": key}),
                ):
                    bodies.append(r.text)
                    assert r.status_code in (200, 400, 404)
            bodies.append(http.post(embed, json=ok).text)

        good_client, bad_client = sdk(server.url, GOOD_KEYS[1]), sdk(server.url, BAD_KEY)
        good = good_client.models.embed_content(model="gemini-embedding-001", contents="x")
        assert good.embeddings and len(good.embeddings[0].values or []) == 8
        with pytest.raises(errors.ClientError) as bad:
            bad_client.models.embed_content(model="gemini-embedding-001", contents="x")
        assert bad.value.code == 400 and bad.value.status == "INVALID_ARGUMENT"
        assert bad.value.message == "API key not valid. Please pass a valid API key."
        details = bad.value.details["error"]["details"]
        assert details[0]["reason"] == "API_KEY_INVALID" and details[0]["domain"] == "googleapis.com"
        server.terminate()
        log = server.log
    assert "DEBUG" in log or "INFO" in log  # the log was captured at all
    for key in (*GOOD_KEYS, BAD_KEY):
        assert key not in log
        assert not any(key in body for body in bodies)


def test_missing_key_is_403_with_googles_message() -> None:
    with ThreadServer(thread_settings(api_keys=list(GOOD_KEYS))) as server:
        r = httpx.post(
            server.url + "/v1/models/fake:embedContent", json={"content": {"parts": [{"text": "x"}]}}
        )
        empty = httpx.post(
            server.url + "/v1/models/fake:embedContent", headers={"x-goog-api-key": ""}, json={}
        )
        probes = [httpx.get(server.url + p) for p in ("/healthz", "/readyz", "/metrics")]
    for response in (r, empty):
        assert response.status_code == 403
        error = google_error(response.json())
        assert error["status"] == "PERMISSION_DENIED"
        assert error["message"].startswith("Method doesn't allow unregistered callers")
    assert [p.status_code for p in probes] == [200, 200, 200]


def test_keys_are_kept_only_as_digests() -> None:
    ring = KeyRing(GOOD_KEYS)
    state = repr(vars(ring)) if hasattr(ring, "__dict__") else repr(ring)
    assert all(key not in state and key.encode() not in state.encode() for key in GOOD_KEYS)
    assert ring.owner_of(GOOD_KEYS[0]) and ring.owner_of(GOOD_KEYS[0]) != ring.owner_of(GOOD_KEYS[1])
    assert ring.owner_of(GOOD_KEYS[0][:-1]) is None and ring.owner_of("") is None
    settings = Settings.load(models=["fake"], api_keys=list(GOOD_KEYS))
    assert all(key not in repr(settings) and key not in str(settings) for key in GOOD_KEYS)


class Listener:
    """A loopback TCP listener that counts the connections it is offered."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def foreign_uris(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/latest/meta-data/",
        f"https://127.0.0.1:{port}/v1beta/files/abc",
        f"http://localhost:{port}/v1beta/files/abc",
        f"http://[::ffff:127.0.0.1]:{port}/files/abc",
        f"//127.0.0.1:{port}/files/abc",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "file:///etc/passwd",
        "file://localhost/etc/shadow",
        "gs://some-bucket/object.png",
        "s3://some-bucket/object.png",
        "ftp://127.0.0.1/x",
        "/etc/passwd",
        "../../../../etc/passwd",
        "files/../../../etc/passwd",
    ]


def test_foreign_file_uris_are_refused_without_any_connection(listener: Listener) -> None:
    """File references may only name this server's own files: nothing is fetched, from the
    listener on loopback or anywhere else, and no local path is read."""
    with ThreadServer(thread_settings()) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        for uri in foreign_uris(listener.port):
            for mime in ("image/png", "application/pdf", "text/plain"):
                body = {"content": {"parts": [{"fileData": {"fileUri": uri, "mimeType": mime}}]}}
                r = http.post("/v1beta/models/fake:embedContent", json=body)
                assert 400 <= r.status_code < 500, (uri, r.status_code, r.text)
                assert "root:" not in r.text  # no /etc/passwd content
                batch = {"requests": [{"model": "models/fake", **body}]}
                r = http.post("/v1beta/models/fake:batchEmbedContents", json=batch)
                assert 400 <= r.status_code < 500, (uri, r.status_code, r.text)
    assert listener.connections == 0


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_bind_check(host: str, allowed: bool) -> None:
    if allowed:
        check_bind(host, has_keys=False, allow_without_keys=False)
    else:
        with pytest.raises(FailedPrecondition):
            check_bind(host, has_keys=False, allow_without_keys=False)
        check_bind(host, has_keys=True, allow_without_keys=False)
        check_bind(host, has_keys=False, allow_without_keys=True)


def test_cli_refuses_public_bind_without_keys_before_loading_anything() -> None:
    """The real entry point: exit code 2, a message naming the fix, no traceback, and no model
    loaded first (a bogus model source would otherwise fail differently)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "omnivec",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--model",
            "/no/such/model",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Refusing to listen on 0.0.0.0 without API keys" in result.stderr
    assert "--allow-public-bind-without-keys" in result.stderr and "--api-key" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_bind_is_loopback() -> None:
    assert Settings.load(models=["fake"]).host == "127.0.0.1"


@pytest.mark.parametrize(
    "query",
    ["xupload_id=1", "a=upload_id%3D1", "upload_idx=1", "uploadType=resumable&not_upload_id=2"],
)
def test_only_a_real_upload_id_skips_the_key_check(query: str) -> None:
    """Upload chunks carry no key (the SDK drops it); anything that merely looks like an upload id
    must still need a key, or anyone could start uploads on a keyed server."""
    with ThreadServer(thread_settings(api_keys=list(GOOD_KEYS))) as server:
        r = httpx.post(
            f"{server.url}/upload/v1beta/files?{query}",
            headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"},
            json={"file": {"display_name": "x"}},
        )
    assert r.status_code == 403, r.text
    assert google_error(r.json())["status"] == "PERMISSION_DENIED"


HOSTILE_NAMES = [
    "../../../../pwned-a",
    "files/../../pwned-b",
    "/tmp/pwned-c",
    "files/%2e%2e%2fpwned-d",
    "files/pwned-e\x00.txt",
    "files/..",
    "C:\\pwned-f",
]


def header_safe(name: str) -> str:
    return name.replace("\x00", "%00")  # no HTTP client sends a NUL in a header


def test_client_file_names_never_become_paths(tmp_path: Path) -> None:
    """Names, display names, multipart file names and upload headers from clients are metadata
    (or refused): the data directory holds only server-made names, and nothing lands elsewhere."""
    data = tmp_path / "data"
    with ThreadServer(thread_settings(data_dir=data)) as server, httpx.Client(base_url=server.url) as http:
        for name in HOSTILE_NAMES:
            meta = orjson.dumps({"file": {"name": name, "display_name": name}})
            r = http.post(
                "/upload/v1beta/files",
                headers={"X-Goog-Upload-Protocol": "multipart", "X-Goog-Upload-File-Name": header_safe(name)},
                files={"metadata": (None, meta, "application/json"), "file": (name, b"data", "text/plain")},
            )
            assert r.status_code == 400 and "is not a valid file name" in r.text, (name, r.text)
            meta = orjson.dumps({"file": {"display_name": name}})
            r = http.post(
                "/upload/v1beta/files",
                headers={"X-Goog-Upload-Protocol": "multipart", "X-Goog-Upload-File-Name": header_safe(name)},
                files={"metadata": (None, meta, "application/json"), "file": (name, b"data", "text/plain")},
            )
            assert r.status_code == 200, r.text
            assert r.json()["file"]["displayName"] == name  # kept as metadata, verbatim
            file_id = r.json()["file"]["name"]
            assert re.fullmatch(r"files/[a-z0-9-]{1,40}", file_id), file_id
        for probe in ("/v1beta/files/..%2F..%2Fomnivec.db:download", "/v1beta/files/%2e%2e:download"):
            assert http.get(probe, params={"alt": "media"}).status_code in (400, 404)
    made = sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())
    # Only the server's own names: the database, its locks, and blobs named by the server.
    allowed = r"omnivec\.db(-wal|-shm)?|(worker|ingestion|data-dir)\.lock|blobs/complete/[a-z0-9]{32}"
    assert [p for p in made if not re.fullmatch(allowed, p)] == []
    assert not [p for p in tmp_path.rglob("*pwned*")]


def test_another_tenants_names_answer_exactly_like_missing_ones() -> None:
    """Key B asking for key A's file or batch gets the very answer a name that never existed gets
    (same status, same message but for the name): nothing tells B the name is taken."""
    key_a, key_b = GOOD_KEYS
    with ThreadServer(thread_settings(api_keys=list(GOOD_KEYS))) as server:
        a = httpx.Client(base_url=server.url, headers={"x-goog-api-key": key_a})
        b = httpx.Client(base_url=server.url, headers={"x-goog-api-key": key_b})
        meta = orjson.dumps({"file": {"display_name": "a's"}})
        made = a.post(
            "/upload/v1beta/files",
            headers={"X-Goog-Upload-Protocol": "multipart"},
            files={"metadata": (None, meta, "application/json"), "file": ("a", b"secret", "text/plain")},
        )
        file_id = made.json()["file"]["name"].removeprefix("files/")
        inline = {"requests": {"requests": [{"request": {"content": {"parts": [{"text": "a"}]}}}]}}
        job = a.post("/v1beta/models/fake:asyncBatchEmbedContent", json={"batch": {"inputConfig": inline}})
        job_id = job.json()["name"].removeprefix("batches/")
        missing_file, missing_job = "f" * len(file_id), "j" * len(job_id)

        def answers(
            template: str, method: str, real: str, missing: str
        ) -> tuple[httpx.Response, httpx.Response]:
            return (
                b.request(method, template.format(real)),
                b.request(method, template.format(missing)),
            )

        for template, method, real, missing in (
            ("/v1beta/files/{}", "GET", file_id, missing_file),
            ("/v1beta/files/{}:download?alt=media", "GET", file_id, missing_file),
            ("/v1beta/files/{}", "DELETE", file_id, missing_file),
            ("/v1beta/batches/{}", "GET", job_id, missing_job),
            ("/v1beta/batches/{}:cancel", "POST", job_id, missing_job),
            ("/v1beta/batches/{}", "DELETE", job_id, missing_job),
        ):
            theirs = b.request(method, template.format(real))
            nobodys = b.request(method, template.format(missing))
            assert theirs.status_code == nobodys.status_code == 404, template
            assert theirs.text.replace(real, missing) == nobodys.text, (theirs.text, nobodys.text)
        file_ref = {"fileData": {"fileUri": f"files/{file_id}", "mimeType": "text/plain"}}
        theirs = b.post("/v1beta/models/fake:embedContent", json={"content": {"parts": [file_ref]}})
        file_ref["fileData"]["fileUri"] = f"files/{missing_file}"
        nobodys = b.post("/v1beta/models/fake:embedContent", json={"content": {"parts": [file_ref]}})
        assert theirs.status_code == nobodys.status_code == 404
        assert theirs.text.replace(file_id, missing_file) == nobodys.text
        assert a.get(f"/v1beta/files/{file_id}").status_code == 200  # still A's, untouched
        assert a.get(f"/v1beta/batches/{job_id}").status_code == 200
        a.close()
        b.close()

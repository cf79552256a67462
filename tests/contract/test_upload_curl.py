"""Google's curl upload recipe (cookbook quickstarts/file-api/sample.sh), replayed with the real
curl and bash: a resumable start with a single-quoted JSON body and ``?key=``, the upload URL
taken from the dumped headers with a case-sensitive ``grep "x-goog-upload-url: "``, then 8 MiB
chunks cut with dd and sent with ``--data-binary`` and curl's default Content-Type."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.server import RunningServer

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("curl", "bash", "dd")), reason="needs curl, bash and dd"
)

KEY = "curl-key"

# The same steps, flags and parsing as the sample; BASE_URL, the key, the file and the display
# name come from the environment.
RECIPE = r"""
set -euo pipefail
CHUNK_SIZE=8388608
NUM_BYTES=$(wc -c < "${INPUT}")
tmp_header_file=$(mktemp)
curl -s "${BASE_URL}/upload/v1beta/files?key=${API_KEY}" \
  -D "${tmp_header_file}" \
  -H "X-Goog-Upload-Protocol: resumable" \
  -H "X-Goog-Upload-Command: start" \
  -H "X-Goog-Upload-Header-Content-Length: ${NUM_BYTES}" \
  -H "X-Goog-Upload-Header-Content-Type: ${MIME_TYPE}" \
  -H "Content-Type: application/json" \
  -d "{'file': {'display_name': '${DISPLAY_NAME}'}}" > /dev/null
upload_url=$(grep "x-goog-upload-url: " "${tmp_header_file}" | cut -d" " -f2 | tr -d "\r")
rm "${tmp_header_file}"
[[ -n "${upload_url}" ]] || { echo "no upload url" >&2; exit 1; }
NUM_CHUNKS=$(((NUM_BYTES + CHUNK_SIZE - 1) / CHUNK_SIZE))
tmp_chunk_file=$(mktemp)
for i in $(seq 1 ${NUM_CHUNKS}); do
  offset=$((i - 1))
  byte_offset=$((offset * CHUNK_SIZE))
  dd skip="${offset}" bs="${CHUNK_SIZE}" count=1 if="${INPUT}" of="${tmp_chunk_file}" 2>/dev/null
  num_chunk_bytes=$(wc -c < "${tmp_chunk_file}")
  upload_command="upload"
  if [[ ${i} -eq ${NUM_CHUNKS} ]]; then upload_command="${upload_command}, finalize"; fi
  curl -s "${upload_url}" \
    -H "Content-Length: ${num_chunk_bytes}" \
    -H "X-Goog-Upload-Offset: ${byte_offset}" \
    -H "X-Goog-Upload-Command: ${upload_command}" \
    --data-binary "@${tmp_chunk_file}" > "${OUT}"
done
rm "${tmp_chunk_file}"
"""


@pytest.mark.parametrize("size", [1000, 8 * 1024 * 1024 + 4321], ids=["one-chunk", "two-chunks"])
def test_googles_curl_upload_recipe(serve: Callable[..., RunningServer], tmp_path: Path, size: int) -> None:
    server = serve(api_keys=[KEY])
    data = os.urandom(size)
    source = tmp_path / "input.bin"
    source.write_bytes(data)
    out = tmp_path / "file_info.json"
    env = {
        **os.environ,
        "BASE_URL": server.base_url,
        "API_KEY": KEY,
        "INPUT": str(source),
        "MIME_TYPE": "application/octet-stream",
        "DISPLAY_NAME": "Curl sample",
        "OUT": str(out),
    }
    subprocess.run(["bash", "-c", RECIPE], env=env, check=True, timeout=60)
    file = json.loads(out.read_text())["file"]
    assert file["displayName"] == "Curl sample" and file["sizeBytes"] == str(size)
    # The sample's next step: GET the file's uri with ?key=.
    fetched = subprocess.run(
        ["curl", "-s", f"{file['uri']}?key={KEY}"], capture_output=True, check=True, timeout=30
    ).stdout
    assert json.loads(fetched)["name"] == file["name"]
    download = httpx.get(f"{file['uri']}:download?alt=media", headers={"x-goog-api-key": KEY})
    assert download.content == data

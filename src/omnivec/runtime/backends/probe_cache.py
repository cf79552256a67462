"""Remembered parity-probe verdicts, so a restart does not probe again.

A verdict is the worst probe cosine an engine reached for one model's files on one kind of
device with one torch version; it is kept as a small JSON file under the data directory. The
model's files are named by their sha256, and the digest of each file is itself remembered by
path, size and modification time, so a restart reads no weights to find its verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from omnivec.logging import get_logger

log = get_logger(__name__)

# The files that decide what a model computes: weights and the configs around them.
_MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".json")


class ProbeVerdicts:
    """Verdicts and file digests under ``directory`` (the data directory's ``engine-probes``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def worst_cosine(self, key: str) -> float | None:
        try:
            data = json.loads((self.directory / f"{key}.json").read_text())
            return float(data["worst_cosine"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: probe again

    def remember(self, key: str, worst_cosine: float, about: dict[str, str]) -> None:
        self._write(f"{key}.json", {"worst_cosine": worst_cosine, **about})

    def model_digest(self, model_dir: Path) -> str:
        """sha256 over the model's files (names and contents), in a stable order."""
        digest = hashlib.sha256()
        for path in sorted(_model_files(model_dir)):
            digest.update(path.relative_to(model_dir).as_posix().encode())
            digest.update(self._file_digest(path).encode())
        return digest.hexdigest()

    def _file_digest(self, path: Path) -> str:
        stat = path.stat()
        identity = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        memo = f"file-{hashlib.sha256(identity.encode()).hexdigest()[:32]}.json"
        try:
            return str(json.loads((self.directory / memo).read_text())["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        self._write(memo, {"path": str(path.resolve()), "sha256": digest.hexdigest()})
        return digest.hexdigest()

    def _write(self, name: str, data: dict[str, object]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(data, sort_keys=True))
            tmp.replace(self.directory / name)  # readers never see half a file
        except OSError as exc:  # a read-only data directory costs a probe per start, nothing more
            log.warning("could not remember a probe verdict in %s: %s", self.directory, exc)


def _model_files(model_dir: Path) -> list[Path]:
    return [
        p
        for p in model_dir.rglob("*")
        if p.is_file()
        and p.suffix in _MODEL_FILE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(model_dir).parts)
    ]

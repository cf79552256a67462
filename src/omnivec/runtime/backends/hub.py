"""Models from the Hugging Face hub, in its local cache: pull, list, remove, and the checks that
make a missing model fail in seconds with the command that fixes it (never minutes of retries).

The cache is the hub library's own (``HF_HUB_CACHE`` / ``HF_HOME``, by default
``~/.cache/huggingface/hub``), shared with transformers and sentence-transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from omnivec.errors import ModelLoadError, NotFound

# How long the reachability check waits for the hub before saying it cannot be reached.
REACH_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class CachedModel:
    repo_id: str
    size_bytes: int
    revisions: int
    last_modified: datetime
    path: Path


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_models() -> list[CachedModel]:
    """The model repositories in the local cache, by name."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir()
    except CacheNotFound:
        return []
    return sorted(
        (
            CachedModel(
                repo.repo_id,
                repo.size_on_disk,
                len(repo.revisions),
                datetime.fromtimestamp(repo.last_modified, UTC),
                Path(repo.repo_path),
            )
            for repo in info.repos
            if repo.repo_type == "model"
        ),
        key=lambda m: m.repo_id.lower(),
    )


def is_cached(repo_id: str) -> bool:
    """Whether a complete snapshot of ``repo_id`` is in the cache (no network)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(repo_id, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return False
    return True


def pull(repo_id: str, *, show_progress: bool) -> Path:
    """Download ``repo_id`` into the cache (resuming a partial download); returns its snapshot."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    check_reachable(repo_id)
    (enable_progress_bars if show_progress else disable_progress_bars)()
    try:
        return Path(snapshot_download(repo_id))
    except LocalEntryNotFoundError:
        raise ModelLoadError(_unreachable(repo_id, "the connection dropped")) from None
    except HfHubHTTPError as exc:
        raise ModelLoadError(f"Downloading {repo_id} failed: {_reason(exc)}.") from None


def remove(repo_id: str) -> int:
    """Delete every cached revision of ``repo_id``; returns the bytes freed."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir()
    except CacheNotFound:
        info = None
    repos = [r for r in info.repos if r.repo_id.lower() == repo_id.lower()] if info else []
    if not repos or info is None:
        raise NotFound(f"{repo_id} is not in the model cache ({cache_dir()}); see omnivec models --local.")
    hashes = [rev.commit_hash for repo in repos for rev in repo.revisions]
    strategy = info.delete_revisions(*hashes)
    freed = strategy.expected_freed_size
    strategy.execute()
    return freed


def check_reachable(repo_id: str) -> None:
    """Ask the hub about ``repo_id`` once, with a short timeout and no retries: a machine without
    network, a misspelt id or a gated model is told so in seconds, with what to do."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
    )

    try:
        HfApi().model_info(repo_id, timeout=REACH_TIMEOUT_S)
    except HFValidationError:
        raise ModelLoadError(
            f"{repo_id!r} is neither a local directory nor a hub id (hub ids look like owner/name)."
        ) from None
    except GatedRepoError:
        raise ModelLoadError(
            f"{repo_id} is gated: accept its terms on huggingface.co, then set HF_TOKEN "
            f"(or run `hf auth login`) and `omnivec pull {repo_id}`."
        ) from None
    except RepositoryNotFoundError:
        raise ModelLoadError(
            f"There is no model {repo_id!r} on the hub (or it is private: set HF_TOKEN). Check the id."
        ) from None
    except HfHubHTTPError as exc:
        raise ModelLoadError(_unreachable(repo_id, _reason(exc))) from None
    except Exception as exc:  # the HTTP client's connection and timeout errors
        raise ModelLoadError(_unreachable(repo_id, type(exc).__name__)) from None


def not_cached_offline(repo_id: str) -> str:
    return (
        f"Model {repo_id} is not in the local model cache ({cache_dir()}) and the hub is switched off "
        f"(--offline or HF_HUB_OFFLINE=1). Run `omnivec pull {repo_id}` where there is network, "
        "or serve a local directory with --model DIR."
    )


def _unreachable(repo_id: str, reason: str) -> str:
    return (
        f"Cannot reach the Hugging Face hub to download {repo_id} ({reason}). Connect to the network "
        f"and run `omnivec pull {repo_id}`, or serve a local directory with --model DIR."
    )


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return f"HTTP {status}" if status else type(exc).__name__

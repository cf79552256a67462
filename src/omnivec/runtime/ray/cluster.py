"""Reaching a Ray cluster: a clear error when Ray is missing or the address does not answer,
instead of an ImportError or a connection that retries for a minute."""

from __future__ import annotations

import socket
from types import ModuleType

from omnivec.errors import ModelLoadError

# The namespace omnivec's named actors (the replica board) and its driver live in.
NAMESPACE = "omnivec"
EXTRA_HINT = "pip install 'omnivec[distributed]'"


class ClusterError(ModelLoadError):
    """Ray is not installed, or the cluster cannot be reached: the server refuses to start."""


def import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed: {EXTRA_HINT}") from None
    return ray


def connect(address: str, timeout_s: float = 10.0) -> None:
    """Join the cluster at ``address`` ('auto' or HOST:PORT of the head's GCS) as a driver."""
    ray = import_ray()
    if ray.is_initialized():
        return
    if address != "auto" and not address.startswith("ray://"):
        _check_reachable(address, timeout_s)
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"could not join the Ray cluster at {address}: {first_line}") from None


def _check_reachable(address: str, timeout_s: float) -> None:
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ClusterError(f"--ray takes 'auto' or HOST:PORT of the cluster's head, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(
            f"no Ray cluster answers at {address} ({reason}); start one with 'ray start --head' "
            "or give the head's address"
        ) from None

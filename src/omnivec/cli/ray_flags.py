"""The ``--ray`` flags of ``omnivec serve``: where the cluster is and how to size each model's
replicas. They fill ``Settings.ray``; nothing here imports Ray."""

from __future__ import annotations

import argparse
from typing import Any

_FIELDS = ("replicas", "min_replicas", "max_replicas", "replica_cpus", "replica_gpus")


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("scale-out on Ray (needs the distributed extra)")
    group.add_argument(
        "--ray",
        dest="ray_address",
        metavar="auto|HOST:PORT",
        help="Serve each model as a Ray Serve deployment on this cluster ('auto': the cluster this "
        "machine belongs to; HOST:PORT: its head).",
    )
    group.add_argument(
        "--replicas", dest="ray_replicas", type=int, help="Replicas of each model (default 1)."
    )
    group.add_argument("--min-replicas", dest="ray_min_replicas", type=int, help="Autoscaling lower bound.")
    group.add_argument("--max-replicas", dest="ray_max_replicas", type=int, help="Autoscaling upper bound.")
    group.add_argument(
        "--replica-cpus",
        dest="ray_replica_cpus",
        type=float,
        help="CPUs per replica, fractional allowed (0.5).",
    )
    group.add_argument(
        "--replica-gpus",
        dest="ray_replica_gpus",
        type=float,
        help="GPUs per replica, fractional allowed (0).",
    )


def ray_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ray`` part of the settings the flags give (empty when none was given)."""
    values: dict[str, Any] = {}
    if getattr(args, "ray_address", None) is not None:
        values["address"] = args.ray_address
    for name in _FIELDS:
        value = getattr(args, f"ray_{name}", None)
        if value is not None:
            values[name] = value
    return values

#!/bin/sh
# Run bench/ray_batch_jobs.py against a local Ray cluster started in network and PID namespaces
# of its own (root, Linux): only loopback exists there, and leaving it ends every Ray process.
# Usage: bench/ray_batch_jobs.sh [ARGS for ray_batch_jobs.py]
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
exec unshare -n -p -f --kill-child -m --mount-proc sh -c "
  set -e
  ip link set lo up
  $BIN/ray start --head --port 6379 --num-cpus \${RAY_CPUS:-2} --num-gpus 0 --include-dashboard false \
      --node-ip-address 127.0.0.1 --disable-usage-stats --temp-dir /tmp/ovr-bench-jobs > /dev/null
  HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH=src:. $PY -m bench.ray_batch_jobs --address 127.0.0.1:6379 $*
"

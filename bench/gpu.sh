#!/usr/bin/env bash
# The GPU check, in one go on a machine with an NVIDIA GPU: installs what it needs (PyPI only),
# prints versions, measures the model's raw forward pass and omnivec over HTTP in fp32, fp16 and
# bf16 with 1, 2 and 4 replicas, and writes bench/results/gpu.{md,json}. Bounded: about 8 minutes.
#
#   bench/gpu.sh                      # everything
#   GPU_ARGS="--replicas 1 2" bench/gpu.sh
#
# Uses the python on PATH when it already has a CUDA torch and omnivec's dependencies; otherwise
# builds bench/.venv-gpu (torch from PyPI, whose Linux wheels carry CUDA).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=bench/.venv-gpu
TORCH_PIN=${TORCH_PIN:-torch==2.13.0}
LIMIT_S=${LIMIT_S:-450}   # the measurement itself; install time comes on top

log() { printf '[gpu.sh] %s\n' "$*" >&2; }

has_cuda_omnivec() {
  "$1" - <<'PY' 2>/dev/null
import torch, sentence_transformers, httpx, omnivec  # noqa: F401
raise SystemExit(0 if torch.cuda.is_available() else 1)
PY
}

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || log "nvidia-smi not found"

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if has_cuda_omnivec "$PYTHON"; then
  PY="$PYTHON"
else
  log "no python with CUDA torch and omnivec's dependencies; installing into $VENV (PyPI)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  PY="$VENV/bin/python"
  "$PY" -m pip install --quiet --upgrade pip
  # torch first and alone, so nothing else picks its build.
  "$PY" -m pip install --quiet "$TORCH_PIN" || { log "could not install $TORCH_PIN from PyPI"; exit 3; }
  "$PY" -m pip install --quiet -e '.[bench]' || { log "could not install omnivec's bench extra"; exit 3; }
  has_cuda_omnivec "$PY" || { log "torch in $VENV does not see a CUDA device"; exit 4; }
fi

"$PY" - <<'PY'
import platform, torch, transformers, sentence_transformers
print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA {torch.version.cuda}), "
      f"transformers {transformers.__version__}, sentence-transformers {sentence_transformers.__version__}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, capability {p.major}.{p.minor}, "
          f"bf16 {torch.cuda.is_bf16_supported()}")
PY

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# shellcheck disable=SC2086  # GPU_ARGS is a list of flags
timeout --signal=INT --kill-after=20 "$LIMIT_S" "$PY" -m bench.gpu ${GPU_ARGS:-}
log "results: bench/results/gpu.md"

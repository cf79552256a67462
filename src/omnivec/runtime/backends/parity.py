"""The fixed probe set every engine other than plain fp32 torch is checked on before it serves.

An engine computes the transformer differently (ONNX Runtime, int8 weights, bf16 arithmetic);
it may serve only if its vectors for these texts point where the fp32 torch model's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from omnivec.runtime.inputs import ModelInput

if TYPE_CHECKING:
    from omnivec.runtime.backends.base import Backend

# Bump when the probe texts change: cached verdicts about the old set no longer apply.
PROBE_SET_VERSION = "1"

# Short and long, prose, code, markup, numbers and a little non-English, so that a transformer
# that only works on easy text is caught. (Text made only of punctuation is the hardest case
# for int8: it lands near cosine 0.985.)
PROBE_TEXTS = (
    "Hello world.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "The quick brown fox jumps over the lazy dog.",
    "How do I reset my password if I no longer have access to my email?",
    "def fibonacci(n): return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 10;",
    "The meeting moved to 3:45 pm on 2024-03-17, room B-204; bring 12 copies.",
    "Ein kleiner Hund läuft über die Straße.",
    "La vie est belle quand on prend le temps de la regarder.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Return a new list containing all items from the iterable in ascending order.",
    "Error 503: the upstream service is temporarily unavailable, retry after 30 seconds.",
    "A",
    "Notes\n=====\n* TODO: convert the options table\n* keep --verbose and -q as they are",
    "Embeddings map text to vectors so that similar meanings lie close together, which makes "
    "semantic search, clustering and deduplication possible without exact keyword matches.",
    "The committee reviewed the proposal in detail. After a long discussion about costs, "
    "timelines and risks, it asked the authors to split the work into two phases, to publish "
    "the interim results, and to come back with a revised budget before the end of the quarter.",
    " ".join(
        ["Distributed systems trade consistency, availability and partition tolerance;"] * 8
        + ["every design chooses which guarantee to weaken when the network fails."]
    ),
    " ".join(f"item {i} costs {i * 7 % 13} dollars" for i in range(40)),
)


def encode(backend: Backend, texts: Sequence[str] = PROBE_TEXTS) -> np.ndarray:
    """The backend's vectors for ``texts``, in one batch, as float32."""
    items = backend.prepare([ModelInput((t,)) for t in texts], auto_truncate=True)
    return np.asarray(backend.finalize(backend.forward(items)), dtype=np.float32)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.asarray((a * b).sum(axis=1))


def worst_cosine(reference: np.ndarray, candidate: Backend) -> float:
    """The lowest cosine between ``candidate``'s probe vectors and ``reference``'s."""
    return float(cosines(reference, encode(candidate)).min())

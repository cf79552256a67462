"""Semantic similarity: how alike are two texts? (SEMANTIC_SIMILARITY task, cosine similarity.)"""

import numpy as np
from omnivec_client import embed, normalize

texts = [
    "What is the meaning of life?",
    "What is the purpose of existence?",
    "How do I bake a cake?",
]
vectors = normalize(embed(texts, "SEMANTIC_SIMILARITY"))
scores = vectors @ vectors.T
for i, j in [(0, 1), (0, 2), (1, 2)]:
    print(f"{scores[i, j]:.3f}  {texts[i]!r} vs {texts[j]!r}")
closest = max([(0, 1), (0, 2), (1, 2)], key=lambda pair: scores[pair])
print(f"most similar pair: {texts[closest[0]]!r} and {texts[closest[1]]!r}")
assert np.allclose(np.diag(scores), 1.0, atol=1e-3)

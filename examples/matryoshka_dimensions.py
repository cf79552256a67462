"""Matryoshka dimensions: output_dimensionality keeps the first k values of each vector. Smaller
vectors cost less to store; this measures what they cost in search quality on a small set of
question/answer pairs: the share of questions whose own answer ranks first, and how closely the
question-answer scores follow those of the full-width vectors (correlation, 1.0 = the same)."""

import numpy as np
from omnivec_client import embed, normalize

pairs = [
    ("What is the capital of France?", "Paris is the capital and largest city of France."),
    ("How many legs does a spider have?", "Spiders have eight legs."),
    ("What gas do plants absorb?", "Plants take in carbon dioxide from the air."),
    ("Who wrote Romeo and Juliet?", "Romeo and Juliet is a tragedy by William Shakespeare."),
    ("What is the boiling point of water?", "Water boils at 100 degrees Celsius at sea level."),
    ("Which planet is known as the red planet?", "Mars looks red because of iron oxide on its surface."),
    ("What do bees make?", "Honey bees produce honey from the nectar of flowers."),
    ("How long is a marathon?", "A marathon is a race of 42.195 kilometres."),
]
questions, answers = [q for q, _ in pairs], [a for _, a in pairs]
full = len(embed(["probe"], "RETRIEVAL_QUERY")[0])
reference = None
print(f"{'dims':>5} {'bytes/vector':>12} {'top-1 accuracy':>15} {'score correlation':>18}")
for dims in [d for d in (full, 128, 32, 8, 4) if d <= full]:
    q = normalize(embed(questions, "RETRIEVAL_QUERY", dims))
    a = normalize(embed(answers, "RETRIEVAL_DOCUMENT", dims))
    assert q.shape == (len(pairs), dims)
    scores = q @ a.T
    reference = scores if reference is None else reference
    accuracy = float(np.mean(scores.argmax(axis=1) == np.arange(len(pairs))))
    correlation = float(np.corrcoef(scores.ravel(), reference.ravel())[0, 1])
    print(f"{dims:>5} {dims * 4:>12} {accuracy:>15.2f} {correlation:>18.3f}")

"""Clustering: embed texts (CLUSTERING task) and group them with k-means; texts on the same
topic should share a cluster."""

import numpy as np
from omnivec_client import embed, normalize

texts = [
    "The stock market fell sharply today",
    "Investors sold shares as prices dropped",
    "Interest rates will rise next quarter",
    "The cat slept on the warm windowsill",
    "My dog loves chasing tennis balls",
    "Kittens and puppies need lots of sleep",
    "The rocket launched towards the space station",
    "Astronauts repaired the satellite in orbit",
    "A new telescope photographed a distant galaxy",
]
vectors = normalize(embed(texts, "CLUSTERING"))


def kmeans(points: np.ndarray, k: int, rounds: int = 20) -> np.ndarray:
    # Deterministic start: the first point, then each next centre the point farthest from those chosen.
    centres = [points[0]]
    while len(centres) < k:
        distance = np.min([np.linalg.norm(points - c, axis=1) for c in centres], axis=0)
        centres.append(points[int(distance.argmax())])
    centre_matrix = np.stack(centres)
    for _ in range(rounds):
        assignment = np.argmin(np.linalg.norm(points[:, None] - centre_matrix[None], axis=2), axis=1)
        centre_matrix = np.stack([points[assignment == c].mean(axis=0) for c in range(k)])
    return assignment


assignment = kmeans(vectors, 3)
for cluster in range(3):
    print(f"cluster {cluster}:", [texts[i] for i in np.flatnonzero(assignment == cluster)])
topics = [assignment[0:3], assignment[3:6], assignment[6:9]]
pure = all(len(set(topic)) == 1 for topic in topics) and len({t[0] for t in topics}) == 3
print("each topic in its own cluster:", pure)

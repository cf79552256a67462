"""Anomaly detection: texts far from the centre of their collection stand out. Each text's
distance to the centroid is compared with a threshold of mean + 2 standard deviations."""

import numpy as np
from omnivec_client import embed, normalize

reviews = [
    "The hotel room was clean and the staff were friendly",
    "Great location, comfortable bed, helpful reception",
    "Breakfast was tasty and the room had a nice view",
    "Friendly staff and a spotless room, would stay again",
    "The pool was lovely and the room was quiet",
    "Check-in was quick and the bed was very comfortable",
    "Nice hotel near the beach with a good breakfast",
    "Quantum chromodynamics describes the strong interaction between quarks",
]
vectors = normalize(embed(reviews, "CLUSTERING"))
distance = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1)
threshold = distance.mean() + 2 * distance.std()
for text, d in zip(reviews, distance, strict=True):
    print(f"{d:.3f} {'ANOMALY' if d > threshold else '       '} {text}")
print("anomalies:", [text for text, d in zip(reviews, distance, strict=True) if d > threshold])

"""Classification: embed labelled examples (CLASSIFICATION task), average each label's vectors
into a centroid, and label new texts by their nearest centroid."""

import numpy as np
from omnivec_client import embed, normalize

train = {
    "sports": [
        "The team won the championship final",
        "He scored two goals in the match",
        "The tennis player served an ace",
    ],
    "food": [
        "This pasta recipe needs fresh basil",
        "Bake the bread for forty minutes",
        "The soup was seasoned with garlic and pepper",
    ],
    "technology": [
        "The new laptop has a faster processor",
        "Install the latest software update",
        "The smartphone battery lasts all day",
    ],
}
test = [
    ("The striker kicked the ball into the net", "sports"),
    ("Chop the onions and fry them in butter", "food"),
    ("My computer needs more memory to run the program", "technology"),
]
labels = list(train)
centroids = normalize(
    np.stack([normalize(embed(train[label], "CLASSIFICATION")).mean(axis=0) for label in labels])
)
vectors = normalize(embed([text for text, _ in test], "CLASSIFICATION"))
predicted = [labels[i] for i in (vectors @ centroids.T).argmax(axis=1)]
for (text, expected), label in zip(test, predicted, strict=True):
    print(f"{label:<10} (expected {expected:<10}) {text}")
correct = sum(label == expected for (_, expected), label in zip(test, predicted, strict=True))
print(f"accuracy: {correct}/{len(test)}")

"""Semantic search with task types: documents are embedded as RETRIEVAL_DOCUMENT, questions as
RETRIEVAL_QUERY, and each question gets the document closest to it."""

from omnivec_client import embed, normalize

documents = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The Python programming language emphasises code readability.",
    "Mount Everest is Earth's highest mountain above sea level.",
]
questions = [
    "Which tower was built in Paris in 1889?",
    "How do plants turn sunlight into energy?",
    "What is the tallest mountain in the world?",
]
doc_vectors = normalize(embed(documents, "RETRIEVAL_DOCUMENT"))
query_vectors = normalize(embed(questions, "RETRIEVAL_QUERY"))
for question, scores in zip(questions, query_vectors @ doc_vectors.T, strict=True):
    best = int(scores.argmax())
    print(f"{question} -> [{best}] {documents[best]} ({scores[best]:.3f})")

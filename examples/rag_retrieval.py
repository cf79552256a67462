"""Retrieval for RAG: find candidate passages by cosine similarity, rerank them by the dot product
of the (normalised) vectors, and build the context a generator would be prompted with."""

import numpy as np
from omnivec_client import embed

passages = [
    "Our office is open Monday to Friday from 9am to 5pm.",
    "Refunds are issued within 14 days of receiving the returned item.",
    "Shipping to Europe takes 3 to 5 business days.",
    "Gift cards cannot be exchanged for cash.",
    "Returned items must be unused and in their original packaging.",
]
question = "How long does it take to get my money back after a return?"

passage_vectors = embed(passages, "RETRIEVAL_DOCUMENT")
query_vector = embed([question], "RETRIEVAL_QUERY")[0]
# Full-width vectors come back normalised, so the dot product is the cosine similarity.
scores = passage_vectors @ query_vector
ranking = np.argsort(-scores)
top = ranking[:2]
print("ranking:", [int(i) for i in ranking])
context = "\n".join(f"- {passages[i]}" for i in top)
print(f"question: {question}\ncontext:\n{context}")
print(f"best passage: {passages[top[0]]}")

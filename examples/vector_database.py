"""Storing vectors in a vector database: embed documents, keep them in Qdrant (here in-process,
in memory; point QdrantClient at a server in production) and search with a query vector."""

from omnivec_client import embed
from qdrant_client import QdrantClient, models

documents = [
    "Solar panels convert sunlight into electricity.",
    "Wind turbines generate power from moving air.",
    "The French Revolution began in 1789.",
    "Bees pollinate flowers while collecting nectar.",
]
vectors = embed(documents, "RETRIEVAL_DOCUMENT")

db = QdrantClient(":memory:")
db.create_collection(
    "documents", vectors_config=models.VectorParams(size=vectors.shape[1], distance=models.Distance.COSINE)
)
db.upsert(
    "documents",
    points=[
        models.PointStruct(id=i, vector=v.tolist(), payload={"text": text})
        for i, (text, v) in enumerate(zip(documents, vectors, strict=True))
    ],
)
print(f"stored {db.count('documents').count} vectors of {vectors.shape[1]} dimensions")
query = embed(["How is electricity made from the sun?"], "RETRIEVAL_QUERY")[0]
hits = db.query_points("documents", query=query.tolist(), limit=2).points
for hit in hits:
    print(f"{hit.score:.3f} {hit.payload['text']}")
print(f"top result: {hits[0].payload['text']}")

"""Multimodal search: images and text in one vector space, so a text query finds an image. Needs
a served model that takes images, e.g. `omnivec serve --model google/embeddinggemma-2`; with a
text-only model it says so and stops."""

import io
import sys

from google.genai import errors, types
from omnivec_client import MODEL, client, normalize

try:
    from PIL import Image
except ImportError:
    sys.exit("this example draws its images with Pillow: pip install pillow")


def solid(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    return buffer.getvalue()


images = {"red": solid("red"), "green": solid("green"), "blue": solid("blue")}
genai = client()
try:
    result = genai.models.embed_content(
        model=MODEL,
        contents=[
            types.Content(parts=[types.Part.from_bytes(data=png, mime_type="image/png")])
            for png in images.values()
        ],
    )
except errors.ClientError as exc:
    print(f"{MODEL} does not take images here: {exc.message}")
    print("serve a multimodal model to run this example, e.g.: omnivec serve --model google/embeddinggemma-2")
    sys.exit(0)
import numpy as np  # noqa: E402

image_vectors = normalize(np.array([e.values for e in result.embeddings]))
query = genai.models.embed_content(model=MODEL, contents="a plain red square")
scores = image_vectors @ normalize(np.array(query.embeddings[0].values))
print("best image for 'a plain red square':", list(images)[int(scores.argmax())])

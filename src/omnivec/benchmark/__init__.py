"""The benchmark: omnivec against the model's own forward pass and against its peers, in one run.

``omnivec bench`` and ``make bench`` both come here. Heavy and optional libraries (the model
stack, httpx, the google-genai SDK, matplotlib, psutil) are imported by the parts that use them.
"""

"""Scale-out on Ray: a Runtime whose models are Ray Serve deployments (``RayRuntime``).

Imported only when ``--ray`` is given; needs the ``distributed`` extra. Each replica runs
omnivec's own backend and dynamic batcher, so what a replica batches is what a single process
batches; the API process stays the same and routes embedding work to the deployment handles.
"""

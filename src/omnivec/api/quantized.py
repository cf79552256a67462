"""The vector encoder of a response: float, base64, or quantised with the model's ranges."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from starlette.requests import Request

from omnivec.api.context import container
from omnivec.errors import FailedPrecondition
from omnivec.wire.vectors import VectorEncoding, encode

Encoder = Callable[[np.ndarray], object]


async def encoder_for(
    request: Request, model: str, encoding: VectorEncoding, dimensions: int | None
) -> Encoder:
    """int8/uint8 need the model's calibrated ranges (for the requested size): computed on the
    first such request and stored, then read from memory."""
    ranges = None
    if encoding.needs_ranges:
        calibration = container(request).quantization
        if calibration is None:
            raise FailedPrecondition(f"{encoding} output is not available on this server.")
        ranges = await calibration.ranges(model, dimensions)
    return lambda values: encode(values, encoding, ranges)

"""Vector encodings every dialect can ask for: float, base64 float32, int8/uint8, (u)binary.

``int8``/``uint8`` follow sentence-transformers' ``quantize_embeddings`` with calibrated ranges:
each dimension's [min, max] over a calibration set is cut into 256 equal steps (values outside
clip to the end buckets). ``binary`` and
``ubinary`` pack one bit per dimension (value > 0), eight to a byte, most significant bit first;
``binary`` stores each byte minus 128 as int8. The same rules give the same integers as that
reference, so vectors from omnivec can be compared with vectors quantised offline.
"""

from __future__ import annotations

import base64
import enum

import numpy as np


class VectorEncoding(enum.StrEnum):
    FLOAT = "float"
    BASE64 = "base64"
    INT8 = "int8"
    UINT8 = "uint8"
    BINARY = "binary"
    UBINARY = "ubinary"

    @property
    def needs_ranges(self) -> bool:
        return self in (VectorEncoding.INT8, VectorEncoding.UINT8)


def float32_base64(values: np.ndarray) -> str:
    """Little-endian float32 bytes, base64: what OpenAI's ``encoding_format=base64`` returns."""
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode("ascii")


def quantize_scalar(values: np.ndarray, ranges: np.ndarray, *, signed: bool) -> np.ndarray:
    """``ranges`` is (2, dims): per-dimension minimum and maximum. Values outside are clipped."""
    starts = ranges[0]
    steps = (ranges[1] - ranges[0]) / 255
    steps = np.where(steps == 0, 1.0, steps)  # a constant dimension maps to its lowest bucket
    buckets = np.clip(np.floor((np.asarray(values, dtype=np.float32) - starts) / steps), 0, 255)
    if signed:
        return (buckets - 128).astype(np.int8)
    return buckets.astype(np.uint8)


def pack_bits(values: np.ndarray, *, signed: bool) -> np.ndarray:
    packed = np.packbits(np.asarray(values) > 0)
    if signed:
        return (packed.astype(np.int16) - 128).astype(np.int8)
    return packed


def encode(values: np.ndarray, encoding: VectorEncoding, ranges: np.ndarray | None = None) -> object:
    """One vector as the JSON value of ``encoding`` (floats stay a float32 array for orjson)."""
    if encoding is VectorEncoding.FLOAT:
        return values
    if encoding is VectorEncoding.BASE64:
        return float32_base64(values)
    if encoding.needs_ranges:
        if ranges is None:
            raise ValueError(f"{encoding} needs calibrated ranges")
        return quantize_scalar(values, ranges, signed=encoding is VectorEncoding.INT8).tolist()
    return pack_bits(values, signed=encoding is VectorEncoding.BINARY).tolist()

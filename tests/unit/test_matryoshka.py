from __future__ import annotations

import numpy as np

from omnivec.services.matryoshka import cut


def test_cut_keeps_prefix_and_renormalises() -> None:
    v = np.array([3.0, 4.0, 12.0], dtype=np.float32)
    out = cut(v, 2)
    np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-6)
    assert out.dtype == np.float32


def test_full_width_is_returned_as_the_model_gave_it() -> None:
    v = np.array([3.0, 4.0], dtype=np.float32)
    np.testing.assert_array_equal(cut(v, None), v)
    np.testing.assert_array_equal(cut(v, 2), v)


def test_zero_prefix_does_not_divide_by_zero() -> None:
    out = cut(np.array([0.0, 0.0, 1.0], dtype=np.float32), 2)
    assert np.all(np.isfinite(out))

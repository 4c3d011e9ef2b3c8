"""The ranking's arithmetic in numpy: pgvector's halfvec products (``search_service.stickers.vector_index``).

Each component is rounded to float16 (round to nearest even, as pgvector's ``Float4ToHalf`` and numpy's cast do),
then the products are summed in float32: the same numbers the exact scan and the HNSW scan order by, to within
float32 summation order (about 1e-7: :func:`assert_exact_ranking`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def halfvec(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as PostgreSQL's ``::halfvec`` cast stores them, back in float32."""
    return np.asarray(vectors, dtype=np.float32).astype(np.float16).astype(np.float32)


def halfvec_scores(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The inner products of ``matrix``'s rows with ``query`` as the ranking computes them."""
    return halfvec(matrix) @ halfvec(query)


def assert_exact_ranking(got: Sequence[int], scores: np.ndarray, *, tolerance: float = 1e-6) -> None:
    """``got`` (row numbers, best first) is the top ``len(got)`` of ``scores`` (ties by row number), except where
    two rows' scores are within ``tolerance``: pgvector sums the float32 products in another order than numpy, so
    near-ties (about 1e-7 apart) may come out swapped."""
    expected = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: len(got)]
    assert len(got) == len(expected)
    for position, (row, want) in enumerate(zip(got, expected, strict=True)):
        gap = abs(float(scores[row]) - float(scores[want]))
        assert row == want or gap <= tolerance, (position, row, want, gap)

"""The window's bounded loss history: whatever the run's length and however the steps arrive,
it holds the means of equal blocks of steps that cover the whole run, in fixed memory."""

import numpy as np
import pytest

from explorer.core.training.history import LossHistory


def _expected(values: np.ndarray, capacity: int):
    """Direct computation: the smallest power-of-two block with fewer than `capacity` whole
    blocks, their means, and the mean of the remainder."""
    n = len(values)
    s = 1
    while n // s >= capacity:
        s *= 2
    k = n // s
    steps = list(s * np.arange(1, k + 1))
    means = list(values[: k * s].reshape(k, s).mean(axis=1)) if k else []
    if n % s:
        steps.append(n)
        means.append(values[k * s:].mean())
    return np.asarray(steps, dtype=float), np.asarray(means), s


@pytest.mark.parametrize("n", [1, 7, 64, 65, 1000, 4097, 20_000])
@pytest.mark.parametrize("chunks", ["one", "ones", "random"])
def test_history_is_block_means_over_the_whole_run(n, chunks):
    rng = np.random.default_rng(n)
    values = rng.normal(size=n) * np.exp(-np.arange(n) / 500)
    h = LossHistory(capacity=64)
    if chunks == "one":
        h.extend(values)
    elif chunks == "ones":
        for v in values:
            h.extend([v])
    else:
        i = 0
        while i < n:
            j = i + int(rng.integers(1, 300))
            h.extend(values[i:j])
            i = j
    steps, means = h.arrays()
    want_steps, want_means, stride = _expected(values, 64)
    assert len(h) == n and h.last == values[-1] and h.stride == stride
    assert len(steps) <= 64 + 1
    np.testing.assert_array_equal(steps, want_steps)
    np.testing.assert_allclose(means, want_means, rtol=1e-12, atol=1e-12)


def test_memory_does_not_grow_with_the_run():
    h = LossHistory()
    before = h._steps.nbytes + h._values.nbytes
    h.extend(np.ones(3_000_000))
    assert len(h) == 3_000_000
    assert h._steps.nbytes + h._values.nbytes == before
    steps, means = h.arrays()
    assert steps[-1] == 3_000_000 and len(steps) <= h.capacity + 1
    np.testing.assert_allclose(means, 1.0)

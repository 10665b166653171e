"""The loss of every step of a run of any length, in bounded memory.

The window trains for as long as the user lets it (budgets of ten million steps are allowed):
a list of every step's loss grows by about 32 bytes a step, 320 MB over such a run, and
redrawing it all every snapshot gets slower and slower. A plot a few thousand pixels wide
cannot show more than a few thousand points anyway, so the history keeps at most
`capacity` points that together cover the whole run: each point is the mean of `stride`
consecutive steps, and when the buffer fills, neighbouring points are averaged in pairs and
the stride doubles. Memory is fixed (two float64 arrays of `capacity`), appending is
amortised O(1) per step, and the first `capacity` steps are kept exactly.
"""

from __future__ import annotations

import numpy as np

CAPACITY = 16_384


class LossHistory:
    def __init__(self, capacity: int | None = None):
        capacity = CAPACITY if capacity is None else capacity
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.stride = 1                  # steps per stored point
        self._steps = np.empty(capacity)  # the last step of each point's bin
        self._values = np.empty(capacity)  # the mean loss over the bin
        self._n = 0                      # stored points
        self._count = 0                  # steps recorded
        self._partial: list[float] = []  # steps of the bin being filled (< stride of them)
        self.last = float("nan")         # the loss of the latest step, exactly

    def __len__(self) -> int:
        """The number of steps recorded (not the number of points kept)."""
        return self._count

    def extend(self, values) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return
        self.last = float(v[-1])
        while v.size:
            take = min(v.size, self.stride - len(self._partial))
            self._partial.extend(v[:take].tolist())
            v = v[take:]
            self._count += take
            if len(self._partial) == self.stride:
                self._push(self._count, float(np.mean(self._partial)))
                self._partial.clear()
            # whole bins at once: the common case of a long chunk of steps
            bins = v.size // self.stride
            room = self.capacity - self._n
            if bins and room:
                k = min(bins, room)
                block = v[: k * self.stride].reshape(k, self.stride).mean(axis=1)
                ends = self._count + self.stride * np.arange(1, k + 1)
                self._steps[self._n:self._n + k] = ends
                self._values[self._n:self._n + k] = block
                self._n += k
                self._count += k * self.stride
                v = v[k * self.stride:]
                if self._n == self.capacity:
                    self._halve()

    def _push(self, step: int, value: float) -> None:
        self._steps[self._n] = step
        self._values[self._n] = value
        self._n += 1
        if self._n == self.capacity:
            self._halve()

    def _halve(self) -> None:
        """Average neighbouring points in pairs (each pair spans equal numbers of steps)."""
        half = self._n // 2
        self._values[:half] = self._values[: 2 * half].reshape(half, 2).mean(axis=1)
        self._steps[:half] = self._steps[1: 2 * half: 2]
        self._n = half
        self.stride *= 2
        # a partly filled bin of the old stride is also part of the new, larger bin

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(step, loss) to plot or save: the stored points, then the bin being filled."""
        steps = self._steps[:self._n]
        values = self._values[:self._n]
        if self._partial:
            steps = np.append(steps, self._count)
            values = np.append(values, np.mean(self._partial))
        return steps.copy(), values.copy()

    def copy(self) -> LossHistory:
        other = LossHistory(self.capacity)
        other.stride, other._n, other._count, other.last = self.stride, self._n, self._count, self.last
        other._steps[:] = self._steps
        other._values[:] = self._values
        other._partial = list(self._partial)
        return other

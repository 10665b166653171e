"""A preset being explored, Qt-free: its training and sampling runs and their histories.

`Session` (session.py) is what a window binds its views to; `runs.py` holds the two
background loops it starts. Nothing here imports Qt (tests/test_presets_contract.py).
"""

from .effects import Effect
from .runs import SamplingRun, TrainingRun
from .session import EVAL_EVERY, UNTRAINED_NOTE, HeadlessTraining, Session

__all__ = ["Session", "Effect", "SamplingRun", "TrainingRun", "HeadlessTraining", "EVAL_EVERY",
           "UNTRAINED_NOTE"]

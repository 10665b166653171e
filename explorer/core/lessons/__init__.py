"""Lessons: a sequence of presets and what to do with each, for a lecture (docs/lessons.md).

    format.py   the lesson file: parse and check every step (its preset, its actions)
    catalog.py  the shipped lessons, in course order, by name
    text.py     a step's text (Unicode formulas, a few marks) as Qt rich text or plain text
    runner.py   play a lesson without a window, on a Session (the tests, --headless)
"""

from .catalog import lessons_folder, names, resolve, shipped_lessons
from .format import Lesson, Step, load, loads

__all__ = ["Lesson", "Step", "load", "loads", "lessons_folder", "names", "resolve", "shipped_lessons"]

"""Samplers: a score turned into particles, step by step (base.py says how one is built).

    sampler = build_sampler(preset, score, device)     # the class preset.sampler.kind names
    sampler.advance(10); sampler.x; sampler.done
"""

from __future__ import annotations

from .base import Sampler


def sampler_class(kind: str) -> type[Sampler]:
    """The registered class of sampler `kind` (ValueError naming the known kinds)."""
    from ..plugins.registry import samplers, unknown_kind_message
    known = samplers()
    if kind not in known:
        raise ValueError(unknown_kind_message("sampler", kind, known))
    return known[kind]


def build_sampler(preset, score, device, bounds=None, particles: int | None = None) -> Sampler:
    """The sampler preset.sampler asks for, on `score` (a TrueScore or LearnedScore)."""
    return sampler_class(preset.sampler["kind"])(preset, score, device, bounds=bounds,
                                                 particles=particles)


def sampler_label(kind: str) -> str:
    """A sampler's name as written in prose (Langevin is a name: capitalised)."""
    from ..plugins.registry import samplers
    cls = samplers().get(kind)
    return cls.label if cls is not None and cls.label else kind.replace("_", " ")


__all__ = ["Sampler", "build_sampler", "sampler_class", "sampler_label"]

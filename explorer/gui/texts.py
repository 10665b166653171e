"""Words the window shows that belong to no objective or sampler (those carry their own:
`title`, `formula`, `assumes`, `label`; core/objectives, core/samplers)."""

SAMPLER_TOOLTIP = (
    "Langevin: x ← x + (ε/2) s(x) + √ε z.  Some notes write ε²/2 and ε z: their ε is the "
    "square root of this one.")

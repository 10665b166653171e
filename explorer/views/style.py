"""Look of the plots, on screen and on slides.

One `ViewStyle` goes to every view; the exporter's slide styles are larger versions of
the screen style, so an exported frame looks like the window, only bolder.
"""

from __future__ import annotations

from dataclasses import dataclass

# Colours that stay apart on a projector and for colour-blind viewers (Okabe-Ito).
LEARNED = (230, 159, 0)      # orange
TRUE = (86, 180, 233)        # sky blue
PARTICLES = (240, 240, 240)  # near-white on the dark density image
FISHER = (0, 158, 115)       # bluish green
TRACE = (240, 228, 66)       # yellow: one particle's path
LIKELIHOOD = (204, 121, 167)  # reddish purple: p_theta by the probability-flow ODE
LOSS = (230, 159, 0)
ERROR_CMAP = "inferno"
DENSITY_CMAP = "viridis"
# The density backdrop uses the dark part of its map (purple, blue, teal; the yellow end
# sits under orange arrows) with its luminance capped: the orange and sky-blue arrows and
# the white particles (relative luminance 0.42, 0.41, 0.87) then differ from the densest
# backdrop by a WCAG contrast ratio of at least 3.5 (3 is the bar for graphics).
DENSITY_CMAP_RANGE = (0.0, 0.6)
DENSITY_TOP_LUMINANCE = 0.08
BACKGROUND = (20, 20, 24)
FOREGROUND = (225, 225, 225)


@dataclass(frozen=True)
class ViewStyle:
    font_pt: int = 10
    line_width: float = 1.5
    point_size: float = 3.0
    arrow_width: float = 1.5

    def scaled(self, k: float) -> "ViewStyle":
        return ViewStyle(round(self.font_pt * k), self.line_width * k, self.point_size * k,
                         self.arrow_width * k)


SCREEN = ViewStyle()
SLIDE_720 = ViewStyle(font_pt=16, line_width=3.0, point_size=4.0, arrow_width=2.5)
SLIDE_1080 = ViewStyle(font_pt=22, line_width=4.0, point_size=5.5, arrow_width=3.5)
PRESENTER = ViewStyle(font_pt=18, line_width=3.0, point_size=4.0, arrow_width=2.5)

"""An example plugin for score-explorer: one objective and one density (docs/plugins.md)."""

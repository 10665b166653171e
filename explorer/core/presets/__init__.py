"""Preset files: the one state object, its schema, the rules of an edit, the derived keys and the limits, the shipped presets."""

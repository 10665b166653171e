"""Views: one small widget per kind of picture, each fed plain numpy arrays.

They know nothing of torch, trainers or presets, so the window, the exporter and the
tests all drive them the same way. See each module for its `set_*` methods.
"""

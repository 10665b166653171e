"""The Qt-free core: densities, objectives, models, training, sampling, metrics, presets.

The command line, the tests and the window all use it; nothing here imports Qt.
"""

"""Measurements against the truth: Fisher divergence, sample quality with noise floors, error per noise level, likelihood (exact and Hutchinson), the learned density, DSM's trade-off."""

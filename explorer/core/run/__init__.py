"""A headless run (train, sample, measure, write its folder) and reading such a folder back."""

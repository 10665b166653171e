"""Noise schedules, score SDEs and the noise-schedule advisor: what the noise-conditional objectives and samplers share."""

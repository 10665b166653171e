"""The Qt window. Everything here draws or drives the core; no science lives here."""

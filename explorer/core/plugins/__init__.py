"""The registry of objectives, densities and samplers (built-ins and plugins alike), their interface checks, fault blame, and the oracle check."""

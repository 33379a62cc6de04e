"""SLO spec and generators: see slo/spec.py."""

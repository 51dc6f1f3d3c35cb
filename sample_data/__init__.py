"""Synthetic clinic-group exports for demos and tests (see sample_data/README.md)."""

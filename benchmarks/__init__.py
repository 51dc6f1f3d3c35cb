"""Benchmarks (run by hand, never collected by pytest): see benchmarks/README.md."""

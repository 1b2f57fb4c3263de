"""Benchmarks comparing Tether with the tools users would pick instead (see README.md)."""

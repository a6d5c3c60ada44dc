"""Benchmarks measured against baselines in the same run (issue 8). Run: python -m tests.bench [--quick]."""

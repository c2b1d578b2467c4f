"""Benchmarks: one command each, printing ratios against limits measured in the same run."""

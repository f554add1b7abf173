"""Throughput benchmarks: the population vs sequential JAX, per-process trials, PyTorch."""

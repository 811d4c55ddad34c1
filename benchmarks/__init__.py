"""archspec benchmarks (see benchmarks/README.md); run with ``python benchmarks/run.py``."""

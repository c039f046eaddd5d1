"""The sections of `make bench` (scripts/bench.py), one module each with run(bench), and
their harness (harness.py)."""

"""pytest-benchmark suites: run with `make bench` (JSON in .benchmarks/)."""

"""Full-size benchmark runs; each `python -m benchmarks.<chapter>` writes benchmarks/results/<chapter>.json."""

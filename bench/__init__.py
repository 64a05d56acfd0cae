"""Benchmarks against real PostgreSQL and Kafka: `python -m bench [relay] [latency]`.

See bench/README.md for what each one measures and how to read its figures.
"""

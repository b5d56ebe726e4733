"""Benchmark: build a database of N bookings, serve it with gunicorn, measure requests per second.

Run with `make bench` (see bench/README.md); the entry point is `python -m bench.run`.
"""

"""Spark engine: distributed read, stage pipeline and per-partition writers."""

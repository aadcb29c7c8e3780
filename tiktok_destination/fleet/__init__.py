"""The fleet: workers reading a Redis stream as a consumer group, and their metrics."""

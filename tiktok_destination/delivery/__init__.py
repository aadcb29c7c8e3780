"""The delivery wing: batches, HTTP with a deadline, retry decision, delay and loop."""

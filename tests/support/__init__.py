"""What the tests share: the fake TikTok server, the hostile server, redis-server, helpers."""

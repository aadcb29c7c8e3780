"""The command line: ``tiktok-destination``, on top of the same hooks a host calls."""

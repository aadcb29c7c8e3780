"""tiktok-destination: a CDP destination plugin for the TikTok Events API 2.0."""

__version__ = "0.1.0"

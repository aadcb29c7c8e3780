"""What to tell the user when delivery goes wrong: messages that say what to fix.

None of them can carry the access token: they are built from codes, class names and settings
names, never from headers or the token itself. What a TikTok code means to the user is in
``facts.CODES``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tiktok_destination import facts
from tiktok_destination.delivery.failures import failure


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent at all, or ``None``."""
    if not token:
        return "access_token is empty: set it to the Events API access token from TikTok"
    if not all("!" <= char <= "~" for char in token):
        return (
            "access_token contains spaces, line breaks or non-ASCII characters, which cannot be "
            "sent in an HTTP header: copy the token from TikTok Events Manager again"
        )
    return None


def _host_port(url: str) -> str:
    """``host:port`` of ``url`` (the scheme's port when none is written)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "api_url"
    host = parts.hostname or "?"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def error_text(error: BaseException, timeout_s: float, url: str = "") -> str:
    """The exception's class and a description naming host and port, never headers or token."""
    where = _host_port(url) if url else "TikTok"
    what = failure(error).words.format(where=where, timeout_s=timeout_s)
    return f"{type(error).__name__}: {what}"


def config_problem(code: int | None, problem: str, source: str, source_id: str) -> str:
    """What to fix after TikTok refused the token or its permissions (``problem`` says how)."""
    template = facts.code(code).message if code is not None else None
    return (template or facts.CONFIG_MESSAGE).format(
        problem=problem,
        source=source,
        source_id=source_id,
        setting=facts.SOURCE_SETTING.get(source, "the event source id setting"),
    )

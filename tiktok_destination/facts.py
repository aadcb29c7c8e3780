"""What TikTok's Events API 2.0 is, written once: endpoint, limits, headers, sources, codes.

Every other module reads these facts from here (``docs/tiktok-api-facts.md`` says where each was
found). The code table is the one place that says what a TikTok body ``code`` means: the retry
decision (``retry.decide``) and the user's message (``delivery_messages``) both read it.
"""

from __future__ import annotations

import enum
from typing import Final, Literal, NamedTuple

NAME: Final = "tiktok"
"""The destination's name: the entry point, the ``destination`` argument of every hook."""

API_URL: Final = "https://business-api.tiktok.com/open_api/v1.3/event/track/"
"""``POST`` endpoint of the Events API 2.0 (the settings schema's ``api_url`` default)."""

MAX_EVENTS_PER_REQUEST: Final = 1000
"""``data`` holds at most this many events; above it TikTok refuses the whole request."""
MAX_REQUEST_BYTES: Final = 4 * 2**20
"""Our cap on one request body: TikTok states none that we found, and no sane batch comes near
it (1000 rich events are about 1.5 MB). Bigger batches are split; a bigger event is rejected."""

TOKEN_HEADER: Final = "Access-Token"
"""The header carrying the bare access token (no ``Bearer`` prefix)."""
CONTENT_TYPE: Final = "application/json"
REDACTED: Final = "<redacted>"
"""Stands in for the access token wherever a request or a message is shown."""


def request_headers(token: str) -> dict[str, str]:
    """The headers of every request: pass ``REDACTED`` to show them."""
    return {TOKEN_HEADER: token, "Content-Type": CONTENT_TYPE}


Scope = Literal["web", "app"]
"""``web``: the web, offline and crm sources (what TikTok reads is the same); ``app``."""

SOURCE_SETTING: Final = {
    "web": "pixel_id",
    "app": "app_id",
    "offline": "offline_event_set_id",
    "crm": "crm_event_set_id",
}
"""Each ``event_source`` and the setting holding its ``event_source_id``."""
EVENT_SOURCES: Final = tuple(SOURCE_SETTING)


def scope_of(event_source: str) -> Scope:
    """``app`` for app events, ``web`` for every other source."""
    return "app" if event_source == "app" else "web"


NOT_APPLICABLE: Final = "NOT_APPLICABLE"
"""The ``att_status`` of iOS below 14 and of Android, where ATT does not apply."""
ATT_STATUSES: Final = ("AUTHORIZED", "DENIED", "NOT_DETERMINED", "RESTRICTED", NOT_APPLICABLE)
"""``user.att_status`` values (iOS App Tracking Transparency)."""
CONTENT_TYPES: Final = ("product", "product_group")
"""``content_type`` values: ids are SKUs, or item group ids."""

WEB_STANDARD_EVENTS: Final = frozenset(
    {
        # TikTok's help centre, current and older lists.
        "AddPaymentInfo", "AddToCart", "AddToWishlist", "ApplicationApproval", "ClickButton",
        "CompletePayment", "CompleteRegistration", "Contact", "CustomizeProduct", "Download",
        "FindLocation", "InitiateCheckout", "Lead", "PlaceAnOrder", "Purchase", "Schedule",
        "Search", "StartTrial", "SubmitApplication", "SubmitForm", "Subscribe", "ViewContent",
    }
)  # fmt: skip
"""TikTok's web standard event names (case-sensitive): the only ones offline events take."""
APP_STANDARD_EVENTS: Final = frozenset(
    {
        # TikTok's iOS SDK event constants and the app names of the event table.
        "AchieveLevel", "AddPaymentInfo", "AddToCart", "AddToWishlist", "Checkout",
        "CompleteTutorial", "CreateGroup", "CreateRole", "GenerateLead", "InAppADClick",
        "InAppADImpr", "InstallApp", "JoinGroup", "LaunchAPP", "LoanApplication", "LoanApproval",
        "LoanDisbursal", "Login", "Purchase", "Rate", "Registration", "Search", "SpendCredits",
        "StartTrial", "Subscribe", "UnlockAchievement", "ViewContent",
    }
)  # fmt: skip
"""TikTok's app standard event names (case-sensitive)."""
STANDARD_EVENTS: Final = WEB_STANDARD_EVENTS | APP_STANDARD_EVENTS
"""Every TikTok standard name; every TikTok name of the event table (``fields.EVENT_TABLE``) is
one."""

CURRENCIES: Final = frozenset(
    {
        "AED", "ARS", "AUD", "BDT", "BGN", "BHD", "BIF", "BOB", "BRL", "CAD", "CHF", "CLP", "CNY",
        "COP", "CRC", "CZK", "DKK", "DZD", "EGP", "EUR", "GBP", "GTQ", "HKD", "HNL", "HUF", "IDR",
        "ILS", "INR", "IQD", "ISK", "JOD", "JPY", "KES", "KHR", "KRW", "KWD", "KZT", "LBP", "MAD",
        "MOP", "MXN", "MYR", "NGN", "NIO", "NOK", "NZD", "OMR", "PEN", "PHP", "PKR", "PLN", "PYG",
        "QAR", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TRY", "TWD", "TZS", "UAH", "USD", "VES",
        "VND", "ZAR",
    }
)  # fmt: skip
"""The ISO 4217 currencies TikTok supports: the 67 codes of its iOS SDK (TikTokConstants.m)."""

EVENT_MAX_AGE_S: Final = 28 * 86400
"""TikTok's longest attribution window (28 days): older events get a warning."""
EVENT_MAX_AHEAD_S: Final = 5 * 60
"""Clock skew allowed to events ahead of the clock (the plugin's choice, not a TikTok figure)."""


class Decision(enum.Enum):
    """What to do after one request."""

    SUCCESS = "success"
    """Code 0: every event of the request arrived."""
    RETRY = "retry"
    """Transient trouble: try the same request again after a delay."""
    SPLIT = "split"
    """A parameter error rejected the whole batch: split it to find the offending events."""
    CONFIG = "config"
    """The token or its permissions are wrong: stop sending with these settings."""
    FAIL = "fail"
    """Not transient and not about single events: give up on this request."""


class Code(NamedTuple):
    """One TikTok body code: what to do, and what to tell the user (``None``: the default)."""

    decision: Decision
    message: str | None = None
    """A template with ``{problem}``, ``{source}``, ``{source_id}`` and ``{setting}``."""
    token_refused: bool = False
    """The token itself is refused: no settings using it can send (remembered by its hash)."""
    throttles: bool = False
    """TikTok is throttling the sender: every worker sharing the settings pauses."""


_REFUSED_TOKEN = (
    "TikTok refused the access token ({problem}): generate a new Events API "
    "access token for this pixel/app in TikTok Events Manager and update access_token"
)

CODES: Final[dict[int, Code]] = {
    0: Code(Decision.SUCCESS),
    # Partial success: delivered; the outcome keeps TikTok's code and message (what it left out).
    20001: Code(Decision.SUCCESS),
    40000: Code(Decision.SPLIT),
    40001: Code(
        Decision.CONFIG,
        "the access token has no permission for event_source_id {source_id} "
        "({source}; {problem}): use an access token generated for this "
        "{source} source in TikTok Events Manager, or correct {setting}",
    ),
    40002: Code(Decision.SPLIT),
    # Personal data sent unhashed: about one event's data, like 40002.
    40062: Code(Decision.SPLIT),
    40100: Code(Decision.RETRY, throttles=True),
    40102: Code(Decision.CONFIG, _REFUSED_TOKEN, token_refused=True),
    40104: Code(Decision.CONFIG, _REFUSED_TOKEN, token_refused=True),
    40105: Code(Decision.CONFIG, _REFUSED_TOKEN, token_refused=True),
    40132: Code(Decision.RETRY),
    # Maintenance: retried like the 5xxxx server-side codes.
    60001: Code(Decision.RETRY),
    61000: Code(Decision.RETRY),
}
"""TikTok body codes (README "Delivery"); 5xxxx server-side codes are ``SERVER_CODES``."""
THROTTLE_STATUS: Final = 429
"""The HTTP status and body codes that mean "sending too fast for this advertiser": every
sender of the same settings should pause (for ``Retry-After`` when the answer has one)."""
SERVER_CODES: Final = range(50000, 60000)
SERVER_CODE: Final = Code(Decision.RETRY)
UNKNOWN_CODE: Final = Code(Decision.FAIL)
CONFIG_MESSAGE: Final = (
    "TikTok refused the request ({problem}): check that access_token is a valid "
    "Events API access token and that api_url is TikTok's Events API endpoint"
)
"""The user's message after a configuration error that has no message of its own."""


def code(value: int) -> Code:
    """What TikTok body code ``value`` means."""
    found = CODES.get(value)
    if found is not None:
        return found
    return SERVER_CODE if value in SERVER_CODES else UNKNOWN_CODE

"""The event specs (the ``event_spec`` setting): where each field is read by default, and which
event names the built-in table knows, as data (docs/fields.md, "Segment messages").

``standard`` is the shape of ``fields.FIELDS`` and ``fields.EVENT_TABLE``; ``segment`` is the
Segment Spec message (``type``, ``event``, ``properties``, ``context``, ``userId``, ...) that
Segment, RudderStack and their kind emit. A spec changes nothing else: the transform is one.
Adding a spec is adding a ``Spec``: a source per field record and an event table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

from tiktok_destination.fields import EVENT_TABLE, FIELDS, VIEW_CONTENT_OPTIONAL


class SpecRow(NamedTuple):
    """One event name and the TikTok event it sends, by source (``None``: not sent)."""

    event: str
    web: str | None
    app: str | None
    offline: str | None
    """Offline events; crm events take the ``web`` name."""


class Call(NamedTuple):
    """What a call ``type`` of a message is: an event named by the value at ``name_path``, an
    event going by ``name``, or skipped for ``skip`` (its reason)."""

    name_path: str | None = None
    name: str | None = None
    skip: str | None = None


NAMED_BY_EVENT_NAME: Final = Call(name_path="event_name")
"""The standard spec's events: named by ``event_name``, whatever else they carry."""
NO_CONVERSION = "carries no conversion (it describes a user or a group, not something they did)"


@dataclass(frozen=True)
class Spec:
    """One event spec: its default sources and event table, and how it names events."""

    name: str
    sources: dict[str, tuple[str, ...]]
    """Field name -> default source paths, tried in order (``()``: not read by default)."""
    events: tuple[SpecRow, ...]
    view_content_optional: tuple[str, ...] = ()
    """Rows of ``events`` that apply only when ``view_content_events`` lists them."""
    fold_names: bool = False
    """Event names matched trimmed and in any case (``Order Completed``, `` order completed``)."""
    calls: dict[str, Call] = field(default_factory=dict)
    """Call ``type`` (lower case) -> what it is; empty: every event is named by ``name_path``."""
    untyped: Call = NAMED_BY_EVENT_NAME
    """What an event without a ``type`` is."""
    item_object_keys: tuple[str, ...] = ()
    """An ``item_list`` value that is an object is one item when it holds one of these keys
    (Segment's single-product events carry the product in ``properties``); else none."""
    app_from_context_app: bool = True
    """Autodiscovery: a non-empty ``context.app`` or ``experience_type`` "native app" means app."""
    app_platform_paths: tuple[str, ...] = ()
    """Autodiscovery: an ``ios`` or ``android`` platform at one of these paths means app."""
    app_hint: str = (
        'partners.tiktok.event_source "app", or, with autodiscover_event_source on, by '
        'experience_type "native app" or a context.app object'
    )
    """How app events are recognised, in the words of a skip reason."""

    def key(self, name: str) -> str:
        """The key an event name is looked up by in this spec's tables."""
        return name.strip().lower() if self.fold_names else name


def _standard_rows() -> tuple[SpecRow, ...]:
    return tuple(SpecRow(row.event, row.web, row.app, row.web) for row in EVENT_TABLE)


STANDARD: Final = Spec(
    name="standard",
    sources={record.name: record.source for record in FIELDS},
    events=_standard_rows(),
    view_content_optional=VIEW_CONTENT_OPTIONAL,
)

# Paths checked against Segment's tiktok-conversions, tiktok-app-events and
# tiktok-offline-conversions actions and RudderStack's tiktok_ads (TikTokTrackV2.json); where
# this table differs from them, docs/fields.md ("Segment messages") says so and why.
_TRAIT = ("properties", "context.traits", "traits")


def _traits(*keys: str) -> tuple[str, ...]:
    """``properties.<key>``, then ``context.traits.<key>``, then ``traits.<key>``, each key."""
    return tuple(f"{where}.{key}" for where in _TRAIT for key in keys)


SEGMENT_SOURCES: Final[dict[str, tuple[str, ...]]] = {
    "event_source": ("properties.event_source",),
    "experience_type": (),
    "device_platform": ("context.device.type", "context.os.name"),
    "event_timestamp": ("timestamp", "originalTimestamp", "sentAt"),
    "event_id": ("properties.event_id", "properties.eventId", "messageId"),
    "click_id": ("properties.ttclid", "integrations.TikTok Conversions.ttclid"),
    "user_id": ("userId", "anonymousId"),
    "cookie_id": ("properties.ttp", "integrations.TikTok Conversions.ttp"),
    "page_url": ("context.page.url",),
    "page_referrer": ("context.page.referrer",),
    "device_idfa": ("context.device.advertisingId",),
    "device_idfv": ("context.device.id",),
    "device_att_status": ("context.device.attTrackingStatus", "context.device.adTrackingEnabled"),
    "device_gaid": ("context.device.advertisingId",),
    "app_id": ("context.app.namespace",),
    "app_name": ("context.app.name",),
    "app_version": ("context.app.version",),
    **{
        record.name: (f"properties.ad.{record.target[1]}",)
        for record in FIELDS
        if record.target is not None and record.target[0] == "ad"
    },
    "user_email": _traits("email"),
    "user_phone": _traits("phone"),
    "device_ip": ("context.ip", "request_ip"),
    "device_user_agent": ("context.userAgent",),
    "device_language": ("context.locale",),
    "limited_data_use": ("properties.limited_data_use",),
    "item_content_type": ("content_type", "contentType"),
    "item_id": ("product_id", "sku", "content_id"),
    "item_price": ("price",),
    "item_quantity": ("quantity",),
    "item_name": ("name", "content_name"),
    "item_category": ("category", "content_category"),
    "item_brand": ("brand",),
    "search_term": ("properties.query",),
    "transaction_id": ("properties.order_id", "properties.orderId"),
    "shop_id": ("properties.shop_id", "properties.shopId"),
    "transaction_status": ("properties.status",),
    "content_type": ("properties.content_type", "properties.contentType"),
    "currency": ("properties.currency",),
    "item_currency": ("currency",),
    "description": ("properties.description",),
    "transaction_value": ("properties.value", "properties.revenue", "properties.total"),
    "item_list": ("properties.products", "properties.contents", "properties"),
    "lead_id": ("properties.lead_id",),
    "lead_event_source": ("properties.lead_event_source",),
    "user_first_name": _traits("firstName", "first_name"),
    "user_last_name": _traits("lastName", "last_name"),
    "user_zip_code": _traits("address.postalCode", "address.postal_code"),
    "user_city": _traits("address.city"),
    "user_state": _traits("address.state"),
    "user_country": _traits("address.country"),
    "consent_categories": ("context.consent.categoryPreferences",),
}
"""Where a Segment message carries each field (``item_*``: relative to one product)."""


def _row(event: str, web: str | None, app: str | None, offline: str | None = None) -> SpecRow:
    return SpecRow(event, web, app, offline)


SEGMENT_EVENTS: Final[tuple[SpecRow, ...]] = (
    # Segment's E-commerce Spec v2, as the TikTok actions' presets map them.
    _row("Products Searched", "Search", "Search"),
    _row("Product Viewed", "ViewContent", "ViewContent"),
    _row("Product Added", "AddToCart", "AddToCart"),
    _row("Product Added to Wishlist", "AddToWishlist", "AddToWishlist"),
    _row("Checkout Started", "InitiateCheckout", "Checkout"),
    _row("Payment Info Entered", "AddPaymentInfo", "AddPaymentInfo"),
    _row("Order Completed", "CompletePayment", "Purchase", "CompletePayment"),
    # Semantic events: B2B SaaS, mobile application lifecycle, and the app actions' presets.
    _row("Signed Up", "CompleteRegistration", "Registration"),
    _row("Signed In", None, "Login"),
    _row("Trial Started", "StartTrial", "StartTrial"),
    _row("Subscription Started", "Subscribe", "Subscribe"),
    _row("User Subscribed", "Subscribe", "Subscribe"),
    _row("User Subscribed In Store", None, None, "Subscribe"),
    _row("Lead Generated", "Lead", "GenerateLead"),
    _row("Form Submitted", "Lead", None, "SubmitForm"),
    _row("User Contacted Call Center", None, None, "Contact"),
    _row("Application Installed", None, "InstallApp"),
    _row("Application Opened", None, "LaunchAPP"),
    _row("Application Ad Clicked", None, "InAppADClick"),
    _row("Application Ad Served", None, "InAppADImpr"),
    _row("Level Achieved", None, "AchieveLevel"),
    _row("Achievement Unlocked", None, "UnlockAchievement"),
    _row("Tutorial Completed", None, "CompleteTutorial"),
    _row("Group Created", None, "CreateGroup"),
    _row("Group Joined", None, "JoinGroup"),
    _row("Role Created", None, "CreateRole"),
    _row("Rating Completed", None, "Rate"),
    _row("Credits Spent", None, "SpendCredits"),
    _row("Loan Application Submitted", None, "LoanApplication"),
    _row("Loan Approved", None, "LoanApproval"),
    _row("Loan Disbursed", None, "LoanDisbursal"),
    # TikTok's own web names, as RudderStack's tiktok_ads maps them (in any case).
    _row("ViewContent", "ViewContent", None),
    _row("ClickButton", "ClickButton", None),
    _row("Search", "Search", None),
    _row("Contact", "Contact", None),
    _row("Download", "Download", None),
    _row("SubmitForm", "SubmitForm", None),
    _row("CompleteRegistration", "CompleteRegistration", None),
    _row("Subscribe", "Subscribe", None),
)
"""Segment event names -> TikTok events, by source (matched trimmed and in any case)."""

SEGMENT_CALLS: Final = {
    "track": Call(name_path="event"),
    "page": Call(name="page"),
    "screen": Call(name="screen"),
    "identify": Call(skip=f"an identify call {NO_CONVERSION}; nothing was sent"),
    "group": Call(skip=f"a group call {NO_CONVERSION}; nothing was sent"),
    "alias": Call(skip=f"an alias call {NO_CONVERSION}; nothing was sent"),
}
"""Segment's call types. ``page`` and ``screen`` calls go by those names: no row of the table
sends them, an ``event_mapping`` row can."""

SEGMENT: Final = Spec(
    name="segment",
    sources=SEGMENT_SOURCES,
    events=SEGMENT_EVENTS,
    fold_names=True,
    calls=SEGMENT_CALLS,
    item_object_keys=("product_id", "sku"),
    untyped=SEGMENT_CALLS["track"],  # the HTTP API's /v1/track body has no type
    app_from_context_app=False,  # RudderStack's JavaScript SDK puts its context.app on web events
    app_platform_paths=("context.device.type", "context.os.name"),
    app_hint=(
        'properties.event_source "app", or, with autodiscover_event_source on, by an iOS or '
        "Android context.device.type or context.os.name"
    ),
)

SPECS: Final[dict[str, Spec]] = {spec.name: spec for spec in (STANDARD, SEGMENT)}
"""The specs by the ``event_spec`` setting's value (the settings schema's enum)."""

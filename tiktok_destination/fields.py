"""The event-name table and the field records (README, "Event names" and "Fields"), as data.

Nothing here runs: the transform walks these tables. Adding a field is adding one ``Field``
record (and its README row, which a test holds to the record).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, get_args


class EventRow(NamedTuple):
    event: str
    web: str | None
    app: str | None


def _both(event: str, tiktok: str) -> EventRow:
    return EventRow(event, tiktok, tiktok)


def _web(event: str, tiktok: str) -> EventRow:
    return EventRow(event, tiktok, None)


def _app(event: str, tiktok: str) -> EventRow:
    return EventRow(event, None, tiktok)


EVENT_TABLE: Final[tuple[EventRow, ...]] = (
    _app("achieve_level", "AchieveLevel"),
    _both("add_payment_info", "AddPaymentInfo"),
    _both("add_to_cart", "AddToCart"),
    _both("add_to_wishlist", "AddToWishlist"),
    _web("application_approval", "ApplicationApproval"),
    _web("begin_checkout", "InitiateCheckout"),
    _both("click_button", "ViewContent"),
    _both("view_content", "ViewContent"),
    _both("page_view", "ViewContent"),
    _both("view_item", "ViewContent"),
    _app("complete_tutorial", "CompleteTutorial"),
    _app("create_group", "CreateGroup"),
    _app("create_role", "CreateRole"),
    _web("customize_product", "CustomizeProduct"),
    EventRow("purchase", "CompletePayment", "Checkout"),
    EventRow("complete_payment", "CompletePayment", "Purchase"),
    _web("contact", "Contact"),
    _web("download", "Download"),
    _web("find_location", "FindLocation"),
    _web("submit_form", "Lead"),
    EventRow("generate_lead", "Lead", "GenerateLead"),
    _app("in_app_ad_click", "InAppADClick"),
    _app("in_app_ad_impr", "InAppADImpr"),
    _app("install_app", "InstallApp"),
    _app("join_group", "JoinGroup"),
    _app("launch_app", "LaunchAPP"),
    _app("loan_application", "LoanApplication"),
    _app("loan_approval", "LoanApproval"),
    _app("loan_disbursal", "LoanDisbursal"),
    _app("login", "Login"),
    _app("rate", "Rate"),
    _web("schedule", "Schedule"),
    _both("search", "Search"),
    EventRow("sign_up", "CompleteRegistration", "Registration"),
    _app("spend_credits", "SpendCredits"),
    _both("start_trial", "StartTrial"),
    _web("submit_application", "SubmitApplication"),
    _both("subscribe", "Subscribe"),
    _app("unlock_achievement", "UnlockAchievement"),
)

VIEW_CONTENT_OPTIONAL: Final = ("page_view", "view_item")
"""Rows above that apply only when listed in the ``view_content_events`` setting."""


Section = Literal["request", "page", "user", "app", "ad", "properties", "item", "lead", "event"]
"""Where a field lands: the request itself, a section of ``data[0]``, one entry of
``properties.contents`` (``item``), or ``data[0]`` itself (``event``)."""
SECTIONS: Final[tuple[Section, ...]] = (
    "page",
    "user",
    "app",
    "ad",
    "properties",
    "item",
    "lead",
    "event",
)
"""The sections the walk builds, in this order (a ``Query`` fallback reads ``page`` values)."""
FieldScope = Literal["all", "web", "app", "offline", "crm"]
"""The events a field is read for: every event, web events (the web, offline and crm sources),
app events, or the events of one source."""


class Cookie(NamedTuple):
    """Fallback: the cookie ``name`` in the event's raw ``Cookie`` header (``COOKIE_SOURCES``)."""

    name: str


class Query(NamedTuple):
    """Fallback: the URL parameter ``name`` in the value already read for field ``of``; with
    ``same_host_as``, only when that URL is on the host of the value read for that field (the
    referrer of a landing page, as TikTok's own template reads ``ttclid``)."""

    name: str
    of: str = "page_url"
    same_host_as: str | None = None


Fallback = Cookie | Query
Platform = Literal["ios", "android"]
PLATFORMS: Final[tuple[Platform, ...]] = get_args(Platform)
"""The device platforms some records are read for only; any other platform reads as none."""
COOKIE_SOURCES: Final = ("context.device.cookie", "context.cookie")
"""Where a CDP event carries the raw ``Cookie`` header, tried in order."""


@dataclass(frozen=True)
class Field:
    """Everything about one smart-mappable field (README "Fields"), as plain data.

    The transform walks these records: it reads ``source`` (or the ``smart_mapping`` setting)
    for the events of ``scope`` (and ``platform``), then each of ``fallbacks`` while it has no
    value, turns the value into what TikTok takes with the reader named ``read`` (``readers``) or
    hashes it (``hashing``), and puts it at ``target``. A value that cannot be read makes the
    event ``invalid``, or is left out with a warning (``on_bad``). ``read=None``: the transform's
    own code reads the field (event source, time, id, items); ``target=None``: the field decides
    something and lands nowhere.
    """

    name: str
    source: tuple[str, ...]
    """Default source: property paths tried in order (``item_*`` fields: relative to one item)."""
    target: tuple[Section, str] | None = None
    read: str | None = "string"
    scope: FieldScope = "all"
    platform: Platform | None = None
    """Read only for app events from this device platform (the ``device_platform`` field)."""
    platform_reads: tuple[tuple[Platform, str], ...] = ()
    """Also read for app events from these other platforms, each with its own reader."""
    also: tuple[str, ...] = ()
    """Other keys of the target's section the value is sent under too."""
    hashing: Literal["email", "phone", "external_id"] | None = None
    fallbacks: tuple[Fallback, ...] = ()
    on_bad: Literal["invalid", "warn"] = "invalid"
    default: str | None = None
    """Sent when the field has no value (not when its value was bad)."""
    default_from: str | None = None
    """Sent when the field has no value, before ``default``: the value sent for this other
    field of the event (read before it)."""
    required: str | None = None
    """Why the events of ``scope`` cannot go without it (the event is ``invalid`` then)."""


def _ad(key: str, read: str = "string") -> Field:
    """A key of the app ``ad`` object (attribution), read from ``partners.tiktok.ad.<key>``."""
    name = key if key.startswith("ad_") else f"ad_{key}"
    return Field(name, (f"partners.tiktok.ad.{key}",), ("ad", key), read, "app", on_bad="warn")


FIELDS: Final[tuple[Field, ...]] = (
    Field("event_source", ("partners.tiktok.event_source",), ("request", "event_source"), None),
    Field("experience_type", (), None, None),
    Field("device_platform", ("context.device.type",), None, "text", scope="app"),
    Field("event_timestamp", ("context.event_timestamp",), ("event", "event_time"), None),
    Field("event_id", ("id", "context.event_id"), ("event", "event_id"), None),
    Field(
        "click_id",
        ("partners.tiktok.ttclid",),
        ("user", "ttclid"),
        "text",
        scope="web",
        fallbacks=(
            Cookie("ttclid"),
            Query("ttclid"),
            Query("ttclid", "page_referrer", same_host_as="page_url"),
        ),
    ),
    Field("user_id", ("user.id",), ("user", "external_id"), hashing="external_id"),
    Field(
        "cookie_id",
        ("partners.tiktok.ttp",),
        ("user", "ttp"),
        "text",
        scope="web",
        fallbacks=(Cookie("_ttp"),),
    ),
    Field("page_url", ("context.page.url",), ("page", "url"), scope="web"),
    Field("page_referrer", ("context.page.referrer",), ("page", "referrer"), scope="web"),
    Field(
        "device_idfa",
        ("context.device.advertising_id",),
        ("user", "idfa"),
        "apple_id",
        scope="app",
        platform="ios",
        on_bad="warn",
    ),
    Field(
        "device_idfv",
        ("context.device.idfv",),
        ("user", "idfv"),
        "apple_id",
        scope="app",
        platform="ios",
        on_bad="warn",
    ),
    Field(
        "device_att_status",
        ("context.device.att_status",),
        ("user", "att_status"),
        "att_status",
        scope="app",
        platform="ios",
        platform_reads=(("android", "android_att_status"),),
        on_bad="warn",
    ),
    Field(
        "device_gaid",
        ("context.device.advertising_id",),
        ("user", "gaid"),
        "gaid",
        scope="app",
        platform="android",
        on_bad="warn",
    ),
    Field(
        "app_id",
        ("context.app.namespace",),
        ("app", "app_id"),
        scope="app",
        required="app events need the app's id (context.app.namespace)",
    ),
    Field("app_name", ("context.app.name",), ("app", "app_name"), scope="app"),
    Field("app_version", ("context.app.version",), ("app", "app_version"), scope="app"),
    _ad("callback", "text"),
    _ad("campaign_id"),
    _ad("ad_id"),
    _ad("creative_id"),
    _ad("is_retargeting", "bool"),
    _ad("attributed", "bool"),
    _ad("attribution_type", "text"),
    _ad("attribution_provider", "text"),
    Field("user_email", ("user.email", "user.email_sha256"), ("user", "email"), hashing="email"),
    Field("user_phone", ("user.phone", "user.phone_sha256"), ("user", "phone"), hashing="phone"),
    Field("device_ip", ("context.device.ip",), ("user", "ip"), "text"),
    Field("device_user_agent", ("context.device.user_agent",), ("user", "user_agent"), "text"),
    Field(
        "device_language",
        ("context.device.language", "context.device.lang"),
        ("user", "locale"),
        "locale",
        on_bad="warn",
    ),
    Field("limited_data_use", ("partners.tiktok.ldu",), ("event", "limited_data_use"), "bool"),
    Field(
        "item_content_type",
        ("content_type",),
        ("item", "content_type"),
        "content_type",
        on_bad="warn",
        default="product",
        default_from="content_type",
    ),
    Field("item_id", ("id",), ("item", "content_id")),
    Field("item_price", ("product.price",), ("item", "price"), "number", on_bad="warn"),
    Field("item_quantity", ("quantity",), ("item", "quantity"), "count", on_bad="warn"),
    Field("item_name", ("product.name",), ("item", "content_name")),
    Field("item_category", ("product.category_1",), ("item", "content_category")),
    Field("item_brand", ("product.brand",), ("item", "brand")),
    Field("search_term", ("search_term",), ("properties", "search_string"), also=("query",)),
    Field("transaction_id", ("id",), ("properties", "order_id")),
    Field("shop_id", ("partners.tiktok.shop_id",), ("properties", "shop_id"), scope="web"),
    Field("transaction_status", ("status",), ("properties", "status"), scope="web"),
    Field(
        "content_type",
        ("content_type",),
        ("properties", "content_type"),
        "content_type",
        on_bad="warn",
    ),
    Field("currency", ("currency",), ("properties", "currency"), "currency", on_bad="warn"),
    Field("item_currency", ("currency",), None, None),
    Field("description", ("event_name",), ("properties", "description")),
    Field("transaction_value", ("value",), ("properties", "value"), "number", on_bad="warn"),
    Field("item_list", ("items",), ("properties", "contents"), None),
    Field(
        "lead_id",
        ("partners.tiktok.lead_id",),
        ("lead", "lead_id"),
        "text",
        scope="crm",
        required="crm events need TikTok's lead id (partners.tiktok.lead_id by default)",
    ),
    Field(
        "lead_event_source",
        ("partners.tiktok.lead_event_source",),
        ("lead", "lead_event_source"),
        "text",
        scope="crm",
    ),
    Field(
        "user_first_name",
        ("user.firstname", "user.first_name"),
        ("user", "first_name"),
        "name_hash",
        on_bad="warn",
    ),
    Field(
        "user_last_name",
        ("user.lastname", "user.last_name"),
        ("user", "last_name"),
        "name_hash",
        on_bad="warn",
    ),
    Field(
        "user_zip_code",
        ("user.zipcode", "user.zip_code"),
        ("user", "zip_code"),
        "zip_hash",
        on_bad="warn",
    ),
    Field("user_city", ("user.city",), ("user", "city"), "lower_text", on_bad="warn"),
    Field("user_state", ("user.state",), ("user", "state"), "lower_text", on_bad="warn"),
    Field("user_country", ("user.country",), ("user", "country"), "lower_text", on_bad="warn"),
    Field("consent_categories", ("consent_categories",), None, None),
)

FIELD_NAMES: Final = tuple(field.name for field in FIELDS)
FIELD: Final = {field.name: field for field in FIELDS}
COMPUTED_KEYS: Final = {"properties": ("content_ids", "num_items")}
"""Keys the transform computes besides the fields' targets."""


def section_fields(section: Section) -> tuple[Field, ...]:
    """The records the walker reads into ``section``, in table order."""
    return tuple(
        field
        for field in FIELDS
        if field.target is not None and field.target[0] == section and field.read is not None
    )


def _keys(section: Section) -> frozenset[str]:
    targets = {
        key
        for field in FIELDS
        if field.target and field.target[0] == section
        for key in (field.target[1], *field.also)
    }
    return frozenset(targets | set(COMPUTED_KEYS.get(section, ())))


BUILTIN_KEYS: Final = {"properties": _keys("properties"), "user": _keys("user")}
"""Keys the transform itself writes; custom properties may not take them (smart_mapping remaps
the fields that write them)."""

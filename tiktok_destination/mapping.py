"""The event-name and field tables (README, "Event names" and "Fields"), as data.

Nothing here runs: the transform walks these tables. Scopes: ``"web"`` means the web, offline and
crm sources, ``"app"`` the app source, ``None`` every source.
"""

from __future__ import annotations

from typing import Final, NamedTuple


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


class Field(NamedTuple):
    """One smart-mappable field: where it is read from by default, and its fallbacks."""

    name: str
    source: tuple[str, ...]
    """Default source: property paths tried in order (item fields: relative to one item)."""


FIELDS: Final[tuple[Field, ...]] = (
    Field("event_source", ("partners.tiktok.event_source",)),
    Field("experience_type", ()),
    Field("device_platform", ("context.device.type",)),
    Field("event_timestamp", ("context.event_timestamp",)),
    Field("event_id", ("id", "context.event_id")),
    Field("click_id", ("partners.tiktok.ttclid",)),
    Field("user_id", ("user.id",)),
    Field("cookie_id", ("partners.tiktok.ttp",)),
    Field("page_url", ("context.page.url",)),
    Field("page_referrer", ("context.page.referrer",)),
    Field("device_idfa", ("context.device.advertising_id",)),
    Field("device_idfv", ("context.device.idfv",)),
    Field("device_att_status", ("context.device.att_status",)),
    Field("device_gaid", ("context.device.advertising_id",)),
    Field("app_id", ("context.app.namespace",)),
    Field("app_name", ("context.app.name",)),
    Field("app_version", ("context.app.version",)),
    Field("user_email", ("user.email", "user.email_sha256")),
    Field("user_phone", ("user.phone", "user.phone_sha256")),
    Field("device_ip", ("context.device.ip",)),
    Field("device_user_agent", ("context.device.user_agent",)),
    Field("device_language", ("context.device.language", "context.device.lang")),
    Field("limited_data_use", ("partners.tiktok.ldu",)),
    Field("item_content_type", ("content_type",)),
    Field("item_id", ("id",)),
    Field("item_price", ("product.price",)),
    Field("item_quantity", ("quantity",)),
    Field("item_name", ("product.name",)),
    Field("item_category", ("product.category_1",)),
    Field("item_brand", ("product.brand",)),
    Field("search_term", ("search_term",)),
    Field("transaction_id", ("id",)),
    Field("shop_id", ("partners.tiktok.shop_id",)),
    Field("transaction_status", ("status",)),
    Field("content_type", ("content_type",)),
    Field("currency", ("currency",)),
    Field("description", ("event_name",)),
    Field("transaction_value", ("value",)),
    Field("item_list", ("items",)),
)

FIELD_NAMES: Final = tuple(field.name for field in FIELDS)
# Where each field lands in ``data[0]``: (section, key). Sections: "user", "page", "app",
# "properties", "item" (one entry of properties.contents) or "event" (data[0] itself).
# Fields that decide rather than land (event_source, experience_type, device_platform, ...) are
# absent; so are the computed ones, handled by the transform.
TARGETS: Final[dict[str, tuple[str, str]]] = {
    "click_id": ("user", "ttclid"),
    "cookie_id": ("user", "ttp"),
    "device_ip": ("user", "ip"),
    "device_user_agent": ("user", "user_agent"),
    "page_url": ("page", "url"),
    "page_referrer": ("page", "referrer"),
    "app_id": ("app", "app_id"),
    "app_name": ("app", "app_name"),
    "app_version": ("app", "app_version"),
    "item_content_type": ("item", "content_type"),
    "item_id": ("item", "content_id"),
    "item_price": ("item", "price"),
    "item_quantity": ("item", "quantity"),
    "item_name": ("item", "content_name"),
    "item_category": ("item", "content_category"),
    "item_brand": ("item", "brand"),
    "search_term": ("properties", "search_string"),
    "transaction_id": ("properties", "order_id"),
    "shop_id": ("properties", "shop_id"),
    "transaction_status": ("properties", "status"),
    "content_type": ("properties", "content_type"),
    "currency": ("properties", "currency"),
    "description": ("properties", "description"),
    "transaction_value": ("properties", "value"),
}

WEB_ONLY_FIELDS: Final = frozenset(
    {
        "search_term",
        "transaction_id",
        "shop_id",
        "transaction_status",
        "content_type",
        "page_url",
        "page_referrer",
    }
)
IOS_FIELDS: Final = {
    "device_idfa": "idfa",
    "device_idfv": "idfv",
    "device_att_status": "att_status",
}
ANDROID_FIELDS: Final = {"device_gaid": "gaid"}
HASHED_USER_KEYS: Final = ("email", "phone", "external_id")
COOKIE_FALLBACKS: Final = {"click_id": "ttclid", "cookie_id": "_ttp"}
COOKIE_SOURCES: Final = ("context.device.cookie", "context.cookie")
URL_FALLBACKS: Final = {"click_id": "ttclid"}

# Keys the transform itself writes; custom properties may not take them (smart_mapping remaps them).
BUILTIN_KEYS: Final = {
    "properties": frozenset(
        {key for section, key in TARGETS.values() if section == "properties"}
        | {"contents", "content_ids", "num_items"}
    ),
    "user": frozenset(
        {key for section, key in TARGETS.values() if section == "user"}
        | set(HASHED_USER_KEYS)
        | set(IOS_FIELDS.values())
        | set(ANDROID_FIELDS.values())
        | {"locale"}
    ),
}

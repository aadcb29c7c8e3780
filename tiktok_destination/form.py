"""The settings form's words: each smart-mapping field's title, help and group, as data.

``destination.manifest()`` completes ``plugin.json``'s ``ui_schema`` with them: every field of
``fields.FIELDS`` gets its title, one line of help naming its default sources (read from its
record, never written twice), the first of them as placeholder, and a place in a group. A field
without an entry here still gets a title made from its name and the group of its target.
"""

from __future__ import annotations

import copy
from typing import Any, Final, NamedTuple

from tiktok_destination.facts import STANDARD_EVENTS
from tiktok_destination.fields import FIELD, FIELDS, Cookie, Field, Query

SOURCE_EXPRESSION: Final = "#/$defs/source_expression"
"""The ``ui:definitions`` key of a source expression: each field's inputs start from it."""


class Group(NamedTuple):
    """A group of smart-mapping fields, shown as one foldable box."""

    key: str
    title: str
    folded: bool
    """Folded at first (a box holding a value or an error is open)."""


GROUPS: Final[tuple[Group, ...]] = (
    Group("user", "Who the user is", False),
    Group("device", "Device", True),
    Group("page", "Page", True),
    Group("app", "App", True),
    Group("purchase", "Purchase", True),
    Group("items", "Items", True),
    Group("lead", "CRM lead", True),
    Group("event", "The event itself (advanced)", True),
)
GROUP_OF_SECTION: Final = {
    "user": "user",
    "page": "page",
    "app": "app",
    "properties": "purchase",
    "item": "items",
    "lead": "lead",
}
"""The group of a field without an entry in ``LABELS``: by the section of its target."""
FALLBACK_GROUP: Final = "event"


class Label(NamedTuple):
    """What a person reads about one field."""

    title: str
    help: str
    """One sentence on what the field is; the default sources are added from the record."""
    group: str


LABELS: Final[dict[str, Label]] = {
    label_name: Label(*words)
    for label_name, words in {
        "user_email": ("Email", "Normalised and hashed with SHA-256 before it is sent.", "user"),
        "user_phone": ("Phone number", "Put in E.164 form, then hashed with SHA-256.", "user"),
        "user_id": ("User ID", "Your own id for the person, hashed into external_id.", "user"),
        "click_id": ("Click ID (ttclid)", "The id TikTok adds to an ad click.", "user"),
        "cookie_id": ("TikTok cookie ID (_ttp)", "The TikTok pixel's browser id.", "user"),
        "user_first_name": ("First name", "Hashed with SHA-256.", "user"),
        "user_last_name": ("Last name", "Hashed with SHA-256.", "user"),
        "user_zip_code": ("ZIP or postal code", "Hashed with SHA-256.", "user"),
        "user_city": ("City", "Sent lower-cased.", "user"),
        "user_state": ("State or region", "Sent lower-cased.", "user"),
        "user_country": ("Country", "Sent lower-cased.", "user"),
        "device_platform": ("Device platform", "ios or android: which ad id is sent.", "device"),
        "device_ip": ("IP address", "The visitor's IP address.", "device"),
        "device_user_agent": ("User agent", "The browser's or app's user agent.", "device"),
        "device_language": ("Language", "The device's locale, such as fr-FR.", "device"),
        "device_idfa": ("IDFA (iOS advertising ID)", "Apple's advertising id.", "device"),
        "device_idfv": ("IDFV (iOS vendor ID)", "Apple's id for the app's vendor.", "device"),
        "device_att_status": (
            "App Tracking Transparency status",
            "iOS tracking consent: AUTHORIZED, DENIED, NOT_DETERMINED, …",
            "device",
        ),
        "device_gaid": ("GAID (Android advertising ID)", "Google's advertising id.", "device"),
        "page_url": ("Page URL", "The address of the page the event happened on.", "page"),
        "page_referrer": ("Referrer URL", "The page the visitor came from.", "page"),
        "search_term": ("Search term", "What the visitor searched for.", "page"),
        "app_id": ("App bundle or package ID", "Required for app events.", "app"),
        "app_name": ("App name", "The app's name.", "app"),
        "app_version": ("App version", "The app's version.", "app"),
        "ad_callback": ("Ad callback", "The attribution callback of the ad (app events).", "app"),
        "ad_campaign_id": ("Ad campaign ID", "The campaign the install came from.", "app"),
        "ad_id": ("Ad ID", "The ad the install came from.", "app"),
        "ad_creative_id": ("Ad creative ID", "The creative the install came from.", "app"),
        "ad_is_retargeting": (
            "Retargeting ad",
            "true when a retargeting ad brought the user.",
            "app",
        ),
        "ad_attributed": ("Attributed", "true when the install was attributed to an ad.", "app"),
        "ad_attribution_type": ("Attribution type", "How the install was attributed.", "app"),
        "ad_attribution_provider": ("Attribution provider", "Who attributed it (an MMP).", "app"),
        "transaction_value": ("Order value", "The amount, a number.", "purchase"),
        "currency": ("Currency", "An ISO 4217 code such as EUR.", "purchase"),
        "item_currency": ("Item currency", "The event's currency when all items agree.", "items"),
        "transaction_id": ("Order ID", "Your id for the order.", "purchase"),
        "transaction_status": ("Order status", "The order's status.", "purchase"),
        "content_type": ("Content type", "product or product_group.", "purchase"),
        "shop_id": ("Shop ID", "The TikTok Shop id.", "purchase"),
        "item_list": ("Items", "The list the item fields below read each item from.", "items"),
        "item_id": ("Item ID (SKU)", "Also listed in content_ids.", "items"),
        "item_name": ("Item name", "The product's name.", "items"),
        "item_category": ("Item category", "The product's category.", "items"),
        "item_brand": ("Item brand", "The product's brand.", "items"),
        "item_price": ("Item price", "The price of one unit, a number.", "items"),
        "item_quantity": ("Item quantity", "A whole number.", "items"),
        "item_content_type": ("Item content type", "product or product_group.", "items"),
        "lead_id": ("Lead ID", "TikTok's id of the lead.", "lead"),
        "lead_event_source": ("Lead source", "The CRM the lead event comes from.", "lead"),
        "event_source": ("Event source", "web, app, offline or crm.", "event"),
        "experience_type": (
            "Experience type",
            "native app marks app events when autodiscovery is on.",
            "event",
        ),
        "event_timestamp": ("Event time", "When it happened; missing means now.", "event"),
        "event_id": ("Event ID", "Deduplicates it with the pixel's or SDK's copy.", "event"),
        "description": ("Description", "A few words about the event.", "event"),
        "limited_data_use": ("Limited data use", "true limits TikTok's use of it.", "event"),
        "consent_categories": (
            "Consent categories",
            "Checked against the Required consent setting.",
            "event",
        ),
    }.items()
}
ORDER: Final = {name: place for place, name in enumerate(LABELS)}


def label(field: Field) -> Label:
    """The field's entry, or a title from its name in the group of its target."""
    known = LABELS.get(field.name)
    if known is not None:
        return known
    section = field.target[0] if field.target else ""
    title = field.name.replace("_", " ").capitalize()
    return Label(title, "", GROUP_OF_SECTION.get(section, FALLBACK_GROUP))


def _place(field: Field) -> int:
    """A field's place in its group: the order of ``LABELS``, then fields without an entry."""
    return ORDER.get(field.name, len(ORDER))


def _fallback_words(fallback: Cookie | Query) -> str:
    if isinstance(fallback, Cookie):
        return f"the {fallback.name} cookie"
    where = f"the {fallback.name} parameter of the {_named(fallback.of)}"
    if fallback.same_host_as:
        where += f" when on the host of the {_named(fallback.same_host_as)}"
    return where


def _named(name: str) -> str:
    """A field as a help text names it: its title, lower-cased where it is a common noun."""
    title = label(FIELD[name]).title if name in FIELD else name
    return title if title.isupper() or " " not in title else title[0].lower() + title[1:]


def default_sources(field: Field) -> tuple[str, ...]:
    """Where the field is read from when not mapped, in the order tried (its record's)."""
    return field.source + tuple(_fallback_words(fallback) for fallback in field.fallbacks)


def source_help(field: Field) -> str:
    """The part of the help that says where the field is read from by default."""
    sources = list(default_sources(field))
    if field.default_from:
        sources.append(f"the event's {_named(field.default_from).lower()}")
    if field.default:
        sources.append(f'"{field.default}"')
    if not sources:
        return "No default source: map it to use it."
    where = "in each item, " if label(field).group == "items" and field.name != "item_list" else ""
    return f"Default: {where}{', then '.join(sources)}."


def help_line(field: Field) -> str:
    """The one line of help shown under the field: what it is, then its default sources."""
    return " ".join(part for part in (label(field).help, source_help(field)) if part)


def _field_ui(field: Field, expression: dict[str, Any]) -> dict[str, Any]:
    inputs = copy.deepcopy(expression)
    if field.source:
        inputs["oneOf"][0]["ui:placeholder"] = field.source[0]
    return {"ui:title": label(field).title, "ui:help": help_line(field), **inputs}


def smart_mapping_ui(ui_schema: dict[str, Any]) -> dict[str, Any]:
    """The ``smart_mapping`` uiSchema: one entry per field record, and the groups in order."""
    expression = ui_schema["ui:definitions"][SOURCE_EXPRESSION]
    own: dict[str, Any] = ui_schema.get("smart_mapping", {})
    members: dict[str, list[str]] = {group.key: [] for group in GROUPS}
    for field in sorted(FIELDS, key=_place):
        members.setdefault(label(field).group, []).append(field.name)
    groups = [
        {"title": group.title, "fields": members[group.key], "folded": group.folded}
        for group in GROUPS
        if members[group.key]
    ]
    fields = {field.name: _field_ui(field, expression) for field in FIELDS}
    options = {**own.get("ui:options", {}), "groups": groups}
    return {**own, **fields, "ui:options": options}


def complete(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with its form completed from the records: the smart-mapping fields' words
    and groups in ``ui_schema``, TikTok's standard event names as suggestions in the schema."""
    ui_schema = manifest["ui_schema"]
    ui_schema["smart_mapping"] = smart_mapping_ui(ui_schema)
    suggest_standard_events(manifest["settings_schema"])
    return manifest


def suggest_standard_events(schema: dict[str, Any]) -> None:
    """Offers TikTok's standard names on "TikTok event" (``examples``: a hint, not a rule)."""
    row = schema["properties"]["event_mapping"]["items"]["properties"]
    row["tiktok_event"]["examples"] = sorted(STANDARD_EVENTS)

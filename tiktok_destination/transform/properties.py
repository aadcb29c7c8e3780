"""``data[0].properties``: the fields the records give, then what the items add to them.

The items become ``contents`` (each built by the ``item`` section), their ids ``content_ids``,
their count ``num_items``, and, when no value is given, Σ price × quantity is the ``value``
(README, "Field mapping"). The assembly of ``data[0]`` calls ``build_properties`` (``assembly``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tiktok_destination.facts import scope_of
from tiktok_destination.quoting import kind
from tiktok_destination.transform.sections import Builder, EventWalk, FieldProblem, custom_section
from tiktok_destination.transform.values import BadValue, to_currency, to_number


def _contents(
    items: list[Any], reading: EventWalk, build: Builder
) -> tuple[list[dict[str, Any]], bool]:
    """``properties.contents``, and whether every price and quantity given could be read."""
    contents = []
    complete = True
    price, quantity = reading.config.fields["item_price"], reading.config.fields["item_quantity"]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise FieldProblem(f"item_list[{index}]: expected an object, got {kind(item)}")
        content = build(item, reading, f"item_list[{index}].")
        if complete:  # a price or quantity given and not read leaves the sum unknown
            complete = ("price" in content or price(item) is None) and (
                "quantity" in content or quantity(item) is None
            )
        if content:
            contents.append(content)
    return contents, complete


def _items_value(contents: list[dict[str, Any]]) -> float | int | None:
    """Σ price × quantity (quantity 1 when missing), when any item has a price."""
    total: Decimal | None = None
    for content in contents:
        if "price" in content:  # exact in decimal: 0.1 × 3 is 0.3
            line = Decimal(str(content["price"])) * content.get("quantity", 1)
            total = line if total is None else total + line
    if total is None:
        return None
    return int(total) if total == total.to_integral_value() else float(total)


def _items_currency(items: Any, reading: EventWalk) -> str | None:
    """The one currency the items are in, when they give one (TikTok's template takes it for the
    event's); more than one, or one TikTok cannot read: none, with a warning."""
    if not isinstance(items, list):
        return None
    get = reading.config.fields["item_currency"]
    found: set[str] = set()
    for item in items:
        raw = get(item) if isinstance(item, dict) else None
        if raw is None:
            continue
        try:
            code = to_currency(raw)
        except BadValue:
            reading.warnings.append(
                "currency: not taken from the items: one is not a currency TikTok supports"
            )
            return None
        if code is not None:
            found.add(code)
    if len(found) > 1:
        reading.warnings.append(
            f"currency: not taken from the items: they are in {len(found)} currencies "
            f"({', '.join(sorted(found))})"
        )
        return None
    return next(iter(found), None)


def build_properties(
    event: dict[str, Any], reading: EventWalk, build: Builder, build_item: Builder
) -> dict[str, Any]:
    """``data[0].properties``: the fields, then the items and what they add up to."""
    properties = build(event, reading, "")
    fields = reading.config.fields
    # A value in a currency TikTok cannot read means nothing: it goes with the currency.
    items = fields["item_list"](event)
    currency_left_out = "currency" not in properties and fields["currency"](event) is not None
    if "currency" not in properties and not currency_left_out:
        currency = _items_currency(items, reading)
        if currency is not None:
            properties["currency"] = currency
    if currency_left_out and "value" in properties:
        del properties["value"]
        reading.warnings.append("transaction_value: left out with the currency it is in")
    single = reading.config.spec.item_object_keys
    if single and isinstance(items, dict):  # one product, carried in the event's properties
        items = [items] if any(key in items for key in single) else None
    if items is not None:
        if not isinstance(items, list):
            raise FieldProblem(f"item_list: expected a list of items, got {kind(items)}")
        contents, complete = _contents(items, reading, build_item)
        if contents:
            properties["contents"] = contents
            if scope_of(reading.source) == "web":
                properties.setdefault("content_type", "product")
        ids = [content["content_id"] for content in contents if "content_id" in content]
        if ids:
            properties["content_ids"] = ids
        properties["num_items"] = len(items)
        if "value" not in properties and fields["transaction_value"](event) is None:
            computed = _items_value(contents)
            if computed is not None and (currency_left_out or not complete):
                why = "the currency" if currency_left_out else "a price or quantity"
                reading.warnings.append(
                    f"transaction_value: not computed from the items: {why} was left out"
                )
            elif computed is not None:
                try:
                    properties["value"] = to_number(computed)
                except BadValue as problem:
                    raise FieldProblem(f"value: computed from item_list: {problem}") from None
    if "value" in properties and "currency" not in properties:
        reading.warnings.append("currency: missing; TikTok needs it with value to report revenue")
    rows = reading.config.custom_event_properties
    if rows:
        properties.update(custom_section(rows, event, "custom_event_properties"))
    return properties

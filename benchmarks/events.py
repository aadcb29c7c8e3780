"""A realistic, seeded mix of CDP standard events for the benchmarks.

``mixed_events(n, seed)`` gives the same ``n`` events for the same seed: about 40 % page_view /
view_item web events, 20 % add_to_cart, 10 % web purchases with 1-5 items, 10 % sign_up /
generate_lead with email and phone, 20 % app events (launch_app, purchase) from iOS and Android
devices with advertising ids. Users come back (a pool of users), as on a real site, so the same
emails and phones recur. Phones are written as people write them: ``+33612345678``,
``+33 6 12 34 56 78``, ``06 12 34 56 78``, ``0612345678``, ``(061) 234-5678`` (read with
``default_phone_region``), ``+1-415-555-2671``, ``+44 7...``. ``SETTINGS`` are destination settings
that send all of them. Each seed gives other users, so a new seed is fresh data for every cache.

Import it as ``benchmarks.events`` with the repository root on ``sys.path``.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from typing import Any

SETTINGS: dict[str, Any] = {
    "access_token": "bench-token",
    "pixel_id": "CBENCHPIXEL0001",
    "app_id": "7000000000001",
    "default_phone_region": "FR",
    "view_content_events": ["page_view", "view_item"],
    "autodiscover_event_source": True,
}

KINDS = ("page_view", "view_item", "add_to_cart", "purchase", "lead", "app")
"""The labels of ``labelled_events``: web events by name, sign-ups and leads, app events."""

_START = (int(time.time()) // 86400 - 27) * 86400
"""Events spread over the 26 days from here: recent, as a live feed's are (TikTok takes events
up to 28 days old; the hooks read the real clock)."""

_WEB_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.43 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
)
_APP_AGENTS = {
    "ios": "ShopApp/5.12.0 (iPhone15,2; iOS 17.1.2) CFNetwork/1485 Darwin/23.1.0",
    "android": "ShopApp/5.12.0 (Linux; U; Android 14; SM-S918B Build/UP1A.231005.007)",
}
_LANGUAGES = ("fr-FR", "fr_FR", "en-US", "en_GB", "de-DE", "es_ES", "it-IT", "nl-NL", "fr")
_CATEGORIES = ("Shirts", "Trousers", "Shoes", "Bags", "Accessories", "Knitwear")
_BRANDS = ("Maison Lin", "Atelier Nord", "Côte Sud", "Urban Loom", "Petit Pas")
_NAMES = ("Linen shirt", "Chino trousers", "Leather sneakers", "Canvas tote", "Wool scarf",
          "Merino sweater", "Denim jacket", "Silk tie", "Suede boots", "Cotton tee")  # fmt: skip
_FIRST = ("jane", "marc", "Lea", "Thomas", "Camille", "hugo", "Chloe", "Lucas", "Manon", "Louis")
_LAST = ("Martin", "bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")
_DOMAINS = ("gmail.com", "Yahoo.fr", "orange.fr", "outlook.com", "Example.COM", "free.fr")
_PAGES = ("/", "/women", "/men", "/new-in", "/sale", "/search?q=linen", "/p/{sku}", "/cart")


class _Maker:
    def __init__(self, n: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.users = [self._user(index) for index in range(max(50, n // 4))]
        self.products = [self._product(index) for index in range(400)]

    def _user(self, index: int) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}{index}@{rng.choice(_DOMAINS)}"
        if rng.random() < 0.2:
            email = f"  {email.upper()} "
        mobile = "6" if rng.random() < 0.7 else "7"
        national = mobile + "".join(str(rng.randrange(10)) for _ in range(8))
        us = f"{rng.randrange(2, 10)}{rng.randrange(100):02d}{rng.randrange(2, 10)}"
        us += "".join(str(rng.randrange(10)) for _ in range(6))
        phone = rng.choice(
            (
                f"+33{national}",
                f"+33 {national[0]} {national[1:3]} {national[3:5]} {national[5:7]} {national[7:]}",
                f"0{national[0]} {national[1:3]} {national[3:5]} {national[5:7]} {national[7:]}",
                f"0{national}",
                f"(0{national[:2]}) {national[2:5]}-{national[5:]}",  # read with the region
                f"+1-{us[:3]}-{us[3:6]}-{us[6:]}",
                f"+44 7{national[1:]}{rng.randrange(10)}",
            )
        )
        return {
            "id": f"CUST-{100000 + index}" if rng.random() < 0.8 else 100000 + index,
            "email": email,
            "phone": phone,
            "ttp": f"{rng.getrandbits(96):024x}.tt.{rng.randrange(10**9)}",
            "ip": _ip(rng),
            "agent": rng.choice(_WEB_AGENTS),
            "language": rng.choice(_LANGUAGES),
            "platform": rng.choice(("ios", "android")),
            "device_id": _uuid(rng),
        }

    def _product(self, index: int) -> dict[str, Any]:
        rng = self.rng
        product: dict[str, Any] = {
            "name": rng.choice(_NAMES),
            "price": round(rng.uniform(9, 250), 2),
            "category_1": rng.choice(_CATEGORIES),
        }
        if rng.random() < 0.7:
            product["brand"] = rng.choice(_BRANDS)
        return {"id": f"SKU-{10000 + index}", "product": product}

    def _timestamp(self) -> int | str:
        rng = self.rng
        seconds = _START + rng.randrange(26 * 86400)
        if rng.random() < 0.7:
            return seconds * 1000 + rng.randrange(1000)
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _items(self, count: int) -> list[dict[str, Any]]:
        items = []
        for product in self.rng.sample(self.products, count):
            item = {**product, "product": dict(product["product"])}
            item["quantity"] = self.rng.choice((1, 1, 1, 2, 3))
            items.append(item)
        return items

    def _web_context(self, user: dict[str, Any], path: str) -> dict[str, Any]:
        rng = self.rng
        url = "https://www.shop.example.fr" + path
        if rng.random() < 0.15:
            url += ("&" if "?" in url else "?") + f"ttclid=E.C.P.{rng.getrandbits(120):x}"
        if rng.random() < 0.3:
            url += ("&" if "?" in url else "?") + "utm_source=tiktok&utm_medium=paid"
        cookies = [f"_ga=GA1.2.{rng.randrange(10**9)}.{_START}", f"_ttp={user['ttp']}"]
        if rng.random() < 0.3:
            cookies.append(f"_fbp=fb.1.{_START}123.{rng.randrange(10**9)}")
        cookies.append(f"session_id={rng.getrandbits(64):016x}")
        page: dict[str, Any] = {"url": url}
        if rng.random() < 0.7:
            page["referrer"] = rng.choice(
                (
                    "https://www.google.com/",
                    "https://www.tiktok.com/",
                    "https://www.shop.example.fr/",
                )
            )
        return {
            "event_timestamp": self._timestamp(),
            "page": page,
            "device": {
                "ip": user["ip"],
                "user_agent": user["agent"],
                "language": user["language"],
                "cookie": "; ".join(cookies),
            },
        }

    def _web(self, name: str, user: dict[str, Any], path: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_name": name,
            "context": self._web_context(user, path),
        }
        if self.rng.random() < 0.5:
            event["context"]["event_id"] = _uuid(self.rng)
        if self.rng.random() < 0.6:
            event["user"] = {"id": user["id"]}
        return event

    def page_view(self, user: dict[str, Any]) -> dict[str, Any]:
        path = self.rng.choice(_PAGES).format(sku=self.rng.choice(self.products)["id"])
        return self._web("page_view", user, path)

    def view_item(self, user: dict[str, Any]) -> dict[str, Any]:
        (item,) = self._items(1)
        event = self._web("view_item", user, f"/p/{item['id'].lower()}")
        del item["quantity"]
        event.update(items=[item], currency="EUR", value=item["product"]["price"])
        return event

    def add_to_cart(self, user: dict[str, Any]) -> dict[str, Any]:
        (item,) = self._items(1)
        event = self._web("add_to_cart", user, f"/p/{item['id'].lower()}")
        event.update(items=[item], currency=self.rng.choice(("EUR", "eur")))
        return event

    def purchase(self, user: dict[str, Any]) -> dict[str, Any]:
        items = self._items(self.rng.randint(1, 5))
        event = self._web("purchase", user, "/checkout/confirmation")
        event.update(
            id=f"ORD-{self.rng.randrange(10**7):07d}",
            currency="EUR",
            status="completed",
            items=items,
            user={"id": user["id"], "email": user["email"], "phone": user["phone"]},
        )
        if self.rng.random() < 0.6:
            total = sum(item["product"]["price"] * item["quantity"] for item in items)
            event["value"] = round(total + self.rng.choice((0, 0, 4.9)), 2)
        return event

    def lead(self, user: dict[str, Any]) -> dict[str, Any]:
        name = self.rng.choice(("sign_up", "generate_lead"))
        event = self._web(name, user, "/account/register" if name == "sign_up" else "/contact")
        event["user"] = {"id": user["id"], "email": user["email"], "phone": user["phone"]}
        return event

    def app(self, user: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        platform = user["platform"]
        device: dict[str, Any] = {
            "type": platform if rng.random() < 0.5 else platform.upper().replace("IOS", "iOS"),
            "advertising_id": (
                user["device_id"].upper() if platform == "ios" else user["device_id"]
            ),
            "ip": user["ip"],
            "user_agent": _APP_AGENTS[platform],
            "language": user["language"],
        }
        if platform == "ios":
            device["idfv"] = _uuid(rng).upper()
            device["att_status"] = rng.choice(("authorized", "AUTHORIZED", "denied"))
        event: dict[str, Any] = {
            "event_name": "launch_app",
            "context": {
                "event_timestamp": self._timestamp(),
                "event_id": _uuid(rng),
                "app": {
                    "namespace": "1234567890" if platform == "ios" else "fr.example.shop",
                    "name": "Shop Example",
                    "version": rng.choice(("5.12.0", "5.11.2", "5.10.0")),
                },
                "device": device,
            },
            "user": {"id": user["id"]},
        }
        if rng.random() < 0.5:
            items = self._items(rng.randint(1, 3))
            event.update(
                event_name="purchase",
                id=f"APP-{rng.randrange(10**7):07d}",
                currency="EUR",
                items=items,
            )
            event["user"] = {"id": user["id"], "email": user["email"], "phone": user["phone"]}
        return event


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.8:
        octets = (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(255))
        return ".".join(map(str, octets))
    return f"2a01:cb1{rng.randrange(10)}::{rng.getrandbits(16):x}:{rng.getrandbits(16):x}"


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


_MIX = (
    ("page_view", 20),
    ("view_item", 20),
    ("add_to_cart", 20),
    ("purchase", 10),
    ("lead", 10),
    ("app", 20),
)


def labelled_events(n: int, seed: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """``n`` events, each with its kind (one of ``KINDS``); the same for the same seed."""
    maker = _Maker(n, seed)
    kinds = [kind for kind, _ in _MIX]
    weights = [weight for _, weight in _MIX]
    out = []
    for kind in maker.rng.choices(kinds, weights, k=n):
        user = maker.rng.choice(maker.users)
        out.append((kind, getattr(maker, kind)(user)))
    return out


def mixed_events(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` realistic events in a fixed mix; the same list for the same ``n`` and ``seed``."""
    return [event for _, event in labelled_events(n, seed)]

"""Shared fixtures: a fake TikTok server on loopback and deliverers pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pluggy
import pytest
import support.profiles as profiles  # noqa: F401  (loads the hypothesis profile for every test)
from jsonschema import Draft202012Validator
from support.helpers import TOKEN, output_validator
from support.redis_server import redis_client, redis_server  # noqa: F401  (fixtures)
from support.tiktok_server import FakeTikTok

from tiktok_destination import hookspecs
from tiktok_destination.delivery.deliverer import Deliverer, DeliveryConfig


@pytest.fixture
def host() -> Iterator[pluggy.PluginManager]:
    """A host's plugin manager with this plugin loaded through its entry point."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    loaded = manager.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
    assert loaded >= 1
    try:
        yield manager
    finally:
        for plugin in list(manager.get_plugins()):
            manager.unregister(plugin)


@pytest.fixture(scope="session")
def output_schema() -> Draft202012Validator:
    """A validator of the Events API 2.0 request schema (``schemas/``)."""
    return output_validator()


@pytest.fixture
def tiktok() -> Iterator[FakeTikTok]:
    """A fake TikTok Events API that expects ``TOKEN``."""
    with FakeTikTok(TOKEN) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """The delays a deliverer asked for (its ``sleep`` only records them)."""
    return []


@pytest.fixture
def make_deliverer(tiktok: FakeTikTok, sleeps: list[float]) -> Iterator[Callable[..., Deliverer]]:
    """Build deliverers for ``tiktok`` that never really sleep; closed after the test."""
    made: list[Deliverer] = []

    def make(**config: Any) -> Deliverer:
        settings: dict[str, Any] = {"access_token": TOKEN, "api_url": tiktok.url, "timeout_s": 5.0}
        deliverer = Deliverer(
            DeliveryConfig(**{**settings, **config}), sleep=sleeps.append, random=lambda: 0.5
        )
        made.append(deliverer)
        return deliverer

    yield make
    for deliverer in made:
        deliverer.close()

"""All the plugin's process state, in one place behind one lock.

- **Configs.** Each settings object the hooks meet is made into a ``Config`` once, from a private
  copy taken when the hook call starts: found first by the object's identity (checked against
  that copy, so a mutated dict is read again), then by the copy's JSON content, so that equal
  settings passed as fresh dicts share one ``Config``. Both
  maps are LRU, bounded in entries (``MAX_TENANTS``) and in bytes (``MAX_BYTES``, counted as the
  settings' JSON length): many tenants in rotation never fall off a cliff, and one huge
  settings object is made into a ``Config`` but not kept.
- **Deliverers.** Each kept ``Config`` gets one ``Deliverer`` (one HTTP session) on its first
  send; when its entry is evicted, the session is closed as soon as no send is using it.
- **Refused tokens.** A token TikTok refused is remembered by the SHA-256 of the token and the
  endpoint (never the token itself, ``MAX_REFUSED`` of them): no deliverer, fresh or evicted and
  made again, sends it there again.

Every read and change happens under ``State._lock``; making configs and the network calls
happen outside it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar

from tiktok_destination.delivery.deliverer import Deliverer
from tiktok_destination.errors import SettingsError
from tiktok_destination.settings import Config, make_config

MAX_TENANTS = 256
"""Settings kept as configs (and deliverers kept open): one per tenant of a multi-tenant host."""
MAX_BYTES = 16 * 2**20
"""Most settings kept, in characters of JSON, per map (by identity, by content); the identity
map holds a snapshot and the text of each entry, so the whole state stays within ~4 × this."""
MAX_REFUSED = 4096
"""Refused tokens remembered (32-byte digests)."""

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A map that forgets its least recently used entries beyond a count or a byte budget."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def clear(self) -> list[V]:
        """Forget every entry; what was there."""
        values = [value for value, _size in self._entries.values()]
        self._entries.clear()
        self.bytes = 0
        return values

    def put(self, key: K, value: V, size: int) -> list[V]:
        """Keep ``value`` (unless it alone is over the byte budget); what was evicted."""
        evicted = [self._entries.pop(key)] if key in self._entries else []
        self.bytes -= sum(entry[1] for entry in evicted)
        if size > self._max_bytes:
            return [entry[0] for entry in evicted] + [value]
        self._entries[key] = (value, size)
        self.bytes += size
        while len(self._entries) > self._max_entries or self.bytes > self._max_bytes:
            _key, oldest = self._entries.popitem(last=False)
            self.bytes -= oldest[1]
            evicted.append(oldest)
        return [entry[0] for entry in evicted]


class _Tenant:
    """One distinct settings content: its config (or problems) and its deliverer."""

    def __init__(self, made: Config | SettingsError) -> None:
        self.made = made
        self.deliverer: Deliverer | None = None
        self.users = 0
        """Sends using ``deliverer`` right now."""
        self.evicted = False

    def config(self) -> Config:
        if isinstance(self.made, SettingsError):
            raise self.made
        return self.made

    def release(self) -> Deliverer | None:
        """The deliverer to close once evicted and unused (it is then forgotten)."""
        if not self.evicted or self.users or self.deliverer is None:
            return None
        deliverer, self.deliverer = self.deliverer, None
        return deliverer


def _make(settings: Any) -> Config | SettingsError:
    try:
        return make_config(settings)
    except SettingsError as error:
        return error


def _private_copy(settings: Any) -> tuple[Any, str] | None:
    """A deep copy of ``settings`` that no one else holds, and its JSON text (sorted keys);
    ``None`` when they are not JSON. The text is written in one step of the C encoder, which
    another Python thread cannot interleave with, and the copy is read back from it."""
    try:
        content = json.dumps(settings, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return None
    return json.loads(content), content


def _digest(token: str, api_url: str) -> bytes:
    return hashlib.sha256(f"{api_url}\n{token}".encode("utf-8", "surrogatepass")).digest()


class State:
    """The configs, deliverers and refused tokens of one process (see module doc)."""

    def __init__(
        self,
        max_tenants: int = MAX_TENANTS,
        max_bytes: int = MAX_BYTES,
        max_refused: int = MAX_REFUSED,
    ) -> None:
        self._lock = threading.Lock()
        self._by_id: _Lru[int, tuple[Any, str, _Tenant]] = _Lru(max_tenants, max_bytes)
        """id(settings) -> (a snapshot to check it against, its JSON text, its tenant)."""
        self._by_content: _Lru[str, _Tenant] = _Lru(max_tenants, max_bytes)
        """The settings' JSON text (sorted keys) -> its tenant."""
        self._refused: _Lru[bytes, str] = _Lru(max_refused, max_refused * 1024)
        self.configs_made = 0
        """How many times settings were made (for tests and benchmarks)."""
        self._last: tuple[Any, Any, _Tenant] | None = None
        """The settings object last looked up, its private snapshot and its tenant: a host
        calling the per-event hook passes the same one again and again."""

    def config_for(self, settings: Any) -> Config:
        """The made ``Config`` for ``settings``; raises ``SettingsError`` when invalid."""
        last = self._last  # one read: another thread may replace it, never change it
        if last is not None and last[0] is settings and last[1] == settings:
            return last[2].config()  # (evicted since, it still is these settings' config)
        tenant, to_close = self._tenant(settings)
        _close(to_close)
        return tenant.config()

    @contextmanager
    def deliverer_for(self, settings: Any) -> Iterator[Deliverer]:
        """The ``Deliverer`` for ``settings``, held open while the ``with`` block runs.

        Raises ``SettingsError`` when the settings are invalid.
        """
        tenant, to_close = self._tenant(settings)
        with self._lock:  # an evicted tenant's deliverer is closed when this send ends
            if tenant.deliverer is None and not isinstance(tenant.made, SettingsError):
                tenant.deliverer = Deliverer(tenant.made.delivery, refused_tokens=self)
            deliverer = tenant.deliverer
            tenant.users += 1
        try:
            _close(to_close)
            tenant.config()
            assert deliverer is not None
            yield deliverer
        finally:
            with self._lock:
                tenant.users -= 1
                unused = tenant.release()
            _close([unused])

    def refused(self, token: str, api_url: str) -> str | None:
        """Why TikTok refused ``token`` at ``api_url``, or ``None``."""
        with self._lock:
            return self._refused.get(_digest(token, api_url))

    def remember(self, token: str, api_url: str, message: str) -> None:
        """Record that TikTok refused ``token`` at ``api_url`` (only a digest is kept)."""
        with self._lock:
            self._refused.put(_digest(token, api_url), message, len(message))

    def close(self) -> None:
        """Forget everything; close the sessions no send is using (the others when it ends)."""
        with self._lock:
            self._last = None
            self._by_id.clear()
            to_close = self._evict(self._by_content.clear())
        _close(to_close)

    def _tenant(self, settings: Any) -> tuple[_Tenant, list[Deliverer | None]]:
        """The tenant for ``settings`` and the deliverers evictions freed.

        A settings object met before is found by its identity while it still equals the private
        copy kept of it. Otherwise one private copy is taken first (a JSON round trip, which a
        caller's thread cannot interleave with); the cache key and the made config both come
        from that copy, never from the caller's live object, and the config is made outside the
        lock (a slow settings object never stops another thread's hook)."""
        with self._lock:
            entry = self._by_id.get(id(settings))
            if entry is not None and not entry[2].evicted and entry[0] == settings:
                self._by_content.get(entry[1])  # now the most recently used there too
                self._last = (settings, entry[0], entry[2])
                return entry[2], []
        copied = _private_copy(settings)
        if copied is None:  # not JSON: never valid, not kept
            return self._new_tenant(settings, kept=False), []
        snapshot, content = copied
        with self._lock:
            tenant = self._by_content.get(content)
        if tenant is None:
            tenant = self._new_tenant(snapshot, kept=True)
        with self._lock:
            kept = self._by_content.get(content)
            if kept is not None:  # another thread kept one meanwhile (or it is ours)
                tenant, evicted = kept, []
            else:
                evicted = self._by_content.put(content, tenant, len(content))
            if tenant in evicted:  # too big to keep
                return tenant, self._evict(evicted)
            self._by_id.put(id(settings), (snapshot, content, tenant), len(content))
            self._last = (settings, snapshot, tenant)
            return tenant, self._evict(evicted)

    def _new_tenant(self, settings: Any, *, kept: bool) -> _Tenant:
        with self._lock:
            self.configs_made += 1
        tenant = _Tenant(_make(settings))
        tenant.evicted = not kept
        return tenant

    @staticmethod
    def _evict(tenants: list[_Tenant]) -> list[Deliverer | None]:
        for tenant in tenants:
            tenant.evicted = True
        return [tenant.release() for tenant in tenants]


def _close(deliverers: list[Deliverer | None]) -> None:
    for deliverer in deliverers:
        if deliverer is not None:
            deliverer.close()


_state = State()


def config_for(settings: Any) -> Config:
    """The made ``Config`` for ``settings`` (the process's state)."""
    return _state.config_for(settings)


def deliverer_for(settings: Any) -> AbstractContextManager[Deliverer]:
    """The ``Deliverer`` for ``settings``, as a context manager (the process's state)."""
    return _state.deliverer_for(settings)

"""The outcome dicts the hooks return: one per event, plain JSON-compatible data."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

Payload = dict[str, Any]
"""A complete Events API 2.0 request body carrying one event in ``data``."""


class _TransformOkRequired(TypedDict):
    status: Literal["ok"]
    payload: Payload


class TransformOk(_TransformOkRequired, total=False):
    warnings: list[str]
    """Present when a value was left out (an unreadable phone number, say)."""


class TransformSkipped(TypedDict):
    status: Literal["skipped"]
    reason: str


class TransformInvalid(TypedDict):
    status: Literal["invalid"]
    error: str


TransformOutcome = TransformOk | TransformSkipped | TransformInvalid


class SendOutcome(TypedDict):
    status: Literal["delivered", "rejected", "failed"]
    code: int | None
    message: str
    request_id: str | None


def ok(payload: Payload, warnings: list[str]) -> TransformOk:
    outcome: TransformOk = {"status": "ok", "payload": payload}
    if warnings:
        outcome["warnings"] = warnings
    return outcome


def skipped(reason: str) -> TransformSkipped:
    return {"status": "skipped", "reason": reason}


def invalid(error: str) -> TransformInvalid:
    return {"status": "invalid", "error": error}


def send_outcome(
    status: Literal["delivered", "rejected", "failed"],
    message: str,
    code: int | None = None,
    request_id: str | None = None,
) -> SendOutcome:
    return {"status": status, "code": code, "message": message, "request_id": request_id}

"""The messages between the TFTP listener and its transfer workers.

Each message is one JSON object in one datagram of a ``SOCK_SEQPACKET`` socket
pair (:mod:`metalnet.boot.tftp_channel`):

listener to worker
    ``{"op": "start", "id": 7, "size": 1234, "blksize": 1468, "windowsize": 4,
    "timeout": 1.0, "oack": [["tsize", "1234"], ...]}``, carrying two descriptors:
    the UDP socket connected to the client, then the file.
    ``{"op": "cancel", "id": 7}``.
worker to listener
    ``{"op": "ready"}``, once, when the worker takes transfers.
    ``{"op": "done", "id": 7, "status": "completed", "reason": "", "counters": {...}}``,
    once per transfer (:class:`~metalnet.boot.tftp_runner.Report`).

The listener stops a worker by closing its end. :func:`decode` checks every field
and raises :class:`HandoffError` for anything else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from metalnet.boot.tftp_config import TftpCounters
from metalnet.boot.tftp_runner import Report
from metalnet.boot.tftp_transfer import Negotiation, Status
from metalnet.wire.tftp.packet import (
    BLKSIZE_MAX,
    BLKSIZE_MIN,
    OACK,
    WINDOWSIZE_MAX,
    WINDOWSIZE_MIN,
)

MAX_MESSAGE = 16 * 1024
"""Longer than any message sent; a longer one is malformed."""

READY = b'{"op":"ready"}'

_COUNTS = tuple(f.name for f in fields(TftpCounters) if f.name != "drops")


class HandoffError(ValueError):
    """A malformed message; ``transfer`` is its transfer id when that much could be read."""

    def __init__(self, problem: str, transfer: int | None = None) -> None:
        super().__init__(problem)
        self.transfer = transfer


@dataclass(frozen=True, slots=True)
class Start:
    """Run transfer ``transfer`` of a file of ``size`` bytes with ``negotiation``."""

    transfer: int
    size: int
    negotiation: Negotiation


@dataclass(frozen=True, slots=True)
class Cancel:
    """End transfer ``transfer``."""

    transfer: int


@dataclass(frozen=True, slots=True)
class Ready:
    """The worker takes transfers."""


@dataclass(frozen=True, slots=True)
class Done:
    """Transfer ``transfer`` ended as ``report`` says."""

    transfer: int
    report: Report


Message = Start | Cancel | Ready | Done


def encode_start(transfer: int, size: int, negotiation: Negotiation) -> bytes:
    """The ``start`` message (send the socket and the file with it)."""
    oack = negotiation.oack.options if negotiation.oack is not None else ()
    return _dump(
        op="start",
        id=transfer,
        size=size,
        blksize=negotiation.blksize,
        windowsize=negotiation.windowsize,
        timeout=negotiation.timeout,
        oack=[list(option) for option in oack],
    )


def encode_cancel(transfer: int) -> bytes:
    """The ``cancel`` message."""
    return _dump(op="cancel", id=transfer)


def encode_done(transfer: int, report: Report) -> bytes:
    """The ``done`` message."""
    return _dump(
        op="done",
        id=transfer,
        status=report.status.value,
        reason=report.reason,
        counters=asdict(report.counters),
    )


def decode(data: bytes) -> Message:
    """Read one message.

    :raises HandoffError: it is not one of the messages above.
    """
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise HandoffError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise HandoffError("not a JSON object")
    op = obj.get("op")
    if op == "ready" and len(obj) == 1:
        return Ready()
    transfer = _count(obj, "id")
    try:
        if op == "start":
            return Start(transfer, _count(obj, "size"), _negotiation(obj))
        if op == "cancel":
            return Cancel(transfer)
        if op == "done":
            return Done(transfer, _report(obj))
    except HandoffError as exc:
        raise HandoffError(str(exc), transfer) from None
    raise HandoffError(f"unknown op {op!r}", transfer)


def _dump(**items: object) -> bytes:
    return json.dumps(items, separators=(",", ":")).encode()


def _count(obj: dict[str, object], key: str, low: int = 0, high: int = 2**63) -> int:
    value = obj.get(key)
    if type(value) is not int or not low <= value <= high:
        raise HandoffError(f"{key} must be an integer within {low}..{high}")
    return value


def _text(obj: dict[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise HandoffError(f"{key} must be a string")
    return value


def _negotiation(obj: dict[str, object]) -> Negotiation:
    timeout = obj.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 256:
        raise HandoffError("timeout must be a number of seconds below 256")
    oack = obj.get("oack")
    if not isinstance(oack, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
        for pair in oack
    ):
        raise HandoffError("oack must be a list of [name, value] strings")
    return Negotiation(
        _count(obj, "blksize", BLKSIZE_MIN, BLKSIZE_MAX),
        _count(obj, "windowsize", WINDOWSIZE_MIN, WINDOWSIZE_MAX),
        float(timeout),
        OACK(tuple((name, value) for name, value in oack)) if oack else None,
    )


def _report(obj: dict[str, object]) -> Report:
    try:
        status = Status(obj.get("status"))
    except ValueError:
        raise HandoffError("status must be completed, aborted or failed") from None
    if status is Status.RUNNING:
        raise HandoffError("a finished transfer cannot be running")
    counts = obj.get("counters")
    if not isinstance(counts, dict) or set(counts) != {*_COUNTS, "drops"}:
        raise HandoffError(f"counters must have exactly {', '.join(_COUNTS)} and drops")
    drops = counts["drops"]
    if not isinstance(drops, dict):
        raise HandoffError("drops must be an object")
    counters = TftpCounters(
        **{name: _count(counts, name) for name in _COUNTS},
        drops={_checked_reason(reason): _count(drops, reason) for reason in drops},
    )
    return Report(status, _text(obj, "reason"), counters)


def _checked_reason(reason: object) -> str:
    # JSON object keys are always strings; keep them short, they become counter names.
    if not isinstance(reason, str) or len(reason) > 64:
        raise HandoffError("drop reasons must be short strings")
    return reason

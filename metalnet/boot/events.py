"""Event names the boot services report through their ``on_event`` hook.

The hook is called as ``on_event(name, client, path, **details)`` with ``client``
the ``(address, port)`` of the machine and ``path`` the file it asked for.
"""

from __future__ import annotations

from typing import Protocol

TFTP_TRANSFER_STARTED = "tftp.transfer.started"
"""A read request was accepted; details: size, blksize, windowsize, options (the OACK)."""

TFTP_TRANSFER_COMPLETED = "tftp.transfer.completed"
"""The client acknowledged the last block; details: size, seconds, retransmits."""

TFTP_TRANSFER_ABORTED = "tftp.transfer.aborted"
"""The client ended the transfer with an ERROR (OVMF's size probe does); details: code, message."""

TFTP_TRANSFER_FAILED = "tftp.transfer.failed"
"""The server gave up (client silent, unreachable, file changed); details: reason."""

TFTP_REQUEST_REFUSED = "tftp.request.refused"
"""A request was answered with an ERROR (missing file, refused path, write, limits);
details: code, reason."""

HTTP_TRANSFER_STARTED = "http.transfer.started"
"""An HTTP GET or HEAD for a boot file is being answered; details: method, status, size, range."""

HTTP_TRANSFER_COMPLETED = "http.transfer.completed"
"""All bytes of an HTTP boot response were handed to the server; details: status, bytes."""

HTTP_TRANSFER_FAILED = "http.transfer.failed"
"""An HTTP boot response stopped early (client went away, read error); details: reason, bytes."""

HTTP_REQUEST_REFUSED = "http.request.refused"
"""An HTTP boot request got 403, 404 or 416; details: status, reason."""


class EventHook(Protocol):
    """Receives boot events; must not block (it runs on the event loop)."""

    def __call__(self, name: str, client: tuple[str, int], path: str, **details: object) -> None:
        """Record one event."""
        ...

"""Atheris fuzz target for the DHCPv4 codec (metalnet.wire.dhcp4).

Run: ``.venv/bin/python tests/fuzz/fuzz_dhcp4.py -runs=100000 [corpus_dir]``.

Decodes the input, reads every typed accessor, classifies it, builds a reply
and re-encodes both. Any exception other than a WireError (BadOption from an
accessor, anything from ``from_wire``) is a bug, and so is a re-encoded packet
that does not decode to the same value.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from typing import Any

_FUZZING = __name__ == "__main__" and importlib.util.find_spec("atheris") is not None
_instrumented: Any = contextlib.nullcontext()
if _FUZZING:
    import atheris

    # Instrument only our codec: atheris.instrument_all() would take ~20 s
    # instrumenting the standard library first.
    _instrumented = atheris.instrument_imports(include=["metalnet.wire"])

with _instrumented:
    from metalnet.wire.dhcp4.consts import MessageType
    from metalnet.wire.dhcp4.options import select_reply_options
    from metalnet.wire.dhcp4.packet import Packet, reply_for
    from metalnet.wire.dhcp4.pxe import (
        classify,
        client_arch,
        is_http_client,
        is_ipxe,
        is_pxe_client,
    )
    from metalnet.wire.errors import BadOption, WireError

#: Every typed accessor of Packet, found by introspection so new ones are covered.
ACCESSORS = tuple(name for name, attr in vars(Packet).items() if isinstance(attr, property))


def exercise(data: bytes) -> Packet | None:
    """Decode ``data`` and use every part of the API on it; return the packet."""
    try:
        packet = Packet.from_wire(data)
    except WireError:
        return None
    for name in ACCESSORS:
        with contextlib.suppress(BadOption):
            getattr(packet, name)
    classify(packet)
    client_arch(packet)
    is_ipxe(packet)
    is_pxe_client(packet)
    is_http_client(packet)
    try:
        max_size = packet.max_message_size
    except BadOption:
        max_size = None
    chosen = select_reply_options(packet.options, packet.parameter_request_list)
    reply = reply_for(packet, MessageType.OFFER, yiaddr=0xC6120064, server_id=0xC6120001,
                      options=chosen)  # fmt: skip
    reply_wire = reply.to_wire(max_size=max_size)
    if Packet.from_wire(reply_wire) != reply:
        raise AssertionError("reply does not round-trip")
    wire = packet.to_wire()
    again = Packet.from_wire(wire)
    if again != packet:
        raise AssertionError(f"round trip changed the packet:\n{packet}\n{again}")
    if again.to_wire() != wire:
        raise AssertionError("encoding is not stable")
    return packet


#: A DISCOVER header and cookie, so that short fuzz inputs reach the options parser.
OPTIONS_PREFIX = (
    bytes((1, 1, 6, 0)) + bytes(24) + bytes.fromhex("525400123456") + bytes(202)
    + bytes((99, 130, 83, 99))
)  # fmt: skip


def TestOneInput(data: bytes) -> None:  # atheris's required name
    exercise(data)
    exercise(OPTIONS_PREFIX + data)


def main() -> None:
    if not _FUZZING:
        sys.exit("atheris is not installed")
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

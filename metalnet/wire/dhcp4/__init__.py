"""Pure DHCPv4/BOOTP codec: bytes <-> :class:`~metalnet.wire.dhcp4.packet.Packet`.

:mod:`.consts` numbers, :mod:`.options` the option map and per-option codecs,
:mod:`.packet` the message and :func:`~metalnet.wire.dhcp4.packet.reply_for`,
:mod:`.pxe` firmware classification. No sockets, clock, logging or database.
"""

from metalnet.wire.dhcp4.consts import ClientArch, MessageType, OptionCode
from metalnet.wire.dhcp4.options import Options, select_reply_options
from metalnet.wire.dhcp4.packet import Packet, reply_for
from metalnet.wire.dhcp4.pxe import Firmware, classify, is_ipxe, is_pxe_client

__all__ = [
    "ClientArch",
    "Firmware",
    "MessageType",
    "OptionCode",
    "Options",
    "Packet",
    "classify",
    "is_ipxe",
    "is_pxe_client",
    "reply_for",
    "select_reply_options",
]

"""DHCPv4 numbers: message types, option codes, client architectures.

Every enum here keeps values it does not name: ``MessageType(42)`` returns a
pseudo-member called ``UNKNOWN_42`` that compares equal to ``42`` instead of
raising. Unknown is data, not an error; it round-trips like any other value.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

#: The four bytes 99.130.83.99 that open the options area (RFC 2131 section 3).
MAGIC_COOKIE = b"\x63\x82\x53\x63"

#: Fixed BOOTP header length, without the cookie (RFC 951 / RFC 2131 figure 1).
HEADER_LEN = 236

#: Classic BOOTP message size (236 + 64-byte vendor area); the default pad target.
BOOTP_MIN_LEN = 300

#: Smallest "maximum message size" every client must accept (RFC 2131 section 2).
#: It counts the IP and UDP headers, as ISC dhcpd reads option 57.
MIN_MAX_MESSAGE_SIZE = 576

#: IPv4 (20) + UDP (8) header bytes counted in option 57's value.
IP_UDP_OVERHEAD = 28

OP_BOOTREQUEST = 1
OP_BOOTREPLY = 2
HTYPE_ETHERNET = 1
FLAG_BROADCAST = 0x8000


class _KeepUnknown(IntEnum):
    """IntEnum that turns an unnamed value in ``0..max`` into a pseudo-member."""

    @classmethod
    def _max_value(cls) -> int:
        return 0xFF

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, int) and 0 <= value <= cls._max_value():
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            # Cache it so that the next look-up returns the same object.
            cls._value2member_map_[value] = member
            return member
        return None


class MessageType(_KeepUnknown):
    """Option 53, DHCP message type (RFC 2132 9.6, RFC 3203, RFC 4388, RFC 6926, RFC 7724)."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8
    FORCERENEW = 9
    LEASEQUERY = 10
    LEASEUNASSIGNED = 11
    LEASEUNKNOWN = 12
    LEASEACTIVE = 13
    BULKLEASEQUERY = 14
    LEASEQUERYDONE = 15
    ACTIVELEASEQUERY = 16
    LEASEQUERYSTATUS = 17
    TLS = 18


class OptionCode(_KeepUnknown):
    """DHCP option codes this package knows by name (RFC 2132 and later)."""

    PAD = 0
    SUBNET_MASK = 1
    TIME_OFFSET = 2
    ROUTER = 3
    TIME_SERVER = 4
    NAME_SERVER = 5
    DNS_SERVER = 6
    LOG_SERVER = 7
    HOSTNAME = 12
    BOOT_FILE_SIZE = 13
    DOMAIN_NAME = 15
    ROOT_PATH = 17
    INTERFACE_MTU = 26
    BROADCAST_ADDRESS = 28
    STATIC_ROUTE = 33
    NTP_SERVERS = 42
    VENDOR_SPECIFIC = 43
    REQUESTED_IP = 50
    LEASE_TIME = 51
    OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETER_REQUEST_LIST = 55
    MESSAGE = 56
    MAX_MESSAGE_SIZE = 57
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    VENDOR_CLASS = 60
    CLIENT_ID = 61
    TFTP_SERVER_NAME = 66
    BOOTFILE_NAME = 67
    USER_CLASS = 77
    CLIENT_FQDN = 81
    RELAY_AGENT_INFO = 82
    CLIENT_ARCH = 93
    CLIENT_NDI = 94
    CLIENT_UUID = 97
    DOMAIN_SEARCH = 119
    CLASSLESS_STATIC_ROUTE = 121
    # 128-135 are "PXE - undefined (vendor specific)"; OVMF asks for all of them.
    PXE_128 = 128
    PXE_129 = 129
    PXE_130 = 130
    PXE_131 = 131
    PXE_132 = 132
    PXE_133 = 133
    PXE_134 = 134
    PXE_135 = 135
    TFTP_SERVERS = 150
    IPXE_ENCAP = 175
    ISCSI_INITIATOR_IQN = 203
    PXELINUX_MAGIC = 208
    PXELINUX_CONFIG_FILE = 209
    PXELINUX_PATH_PREFIX = 210
    PXELINUX_REBOOT_TIME = 211
    END = 255


class ClientArch(_KeepUnknown):
    """Option 93, client system architecture (RFC 4578 and the IANA registry).

    In practice x86-64 UEFI firmware sends 7 (named "EFI BC" by RFC 4578) far
    more often than 9; treat both as x86-64.
    """

    @classmethod
    def _max_value(cls) -> int:
        return 0xFFFF

    BIOS_X86 = 0
    NEC_PC98 = 1
    EFI_ITANIUM = 2
    DEC_ALPHA = 3
    ARC_X86 = 4
    INTEL_LEAN = 5
    EFI_IA32 = 6
    EFI_BC = 7
    EFI_XSCALE = 8
    EFI_X86_64 = 9
    EFI_ARM32 = 10
    EFI_ARM64 = 11
    PPC_OPEN_FIRMWARE = 12
    PPC_EPAPR = 13
    PPC_OPAL = 14
    EFI_IA32_HTTP = 15
    EFI_X86_64_HTTP = 16
    EFI_BC_HTTP = 17
    EFI_ARM32_HTTP = 18
    EFI_ARM64_HTTP = 19
    BIOS_X86_HTTP = 20
    ARM32_UBOOT = 21
    ARM64_UBOOT = 22
    ARM32_UBOOT_HTTP = 23
    ARM64_UBOOT_HTTP = 24
    EFI_RISCV32 = 25
    EFI_RISCV32_HTTP = 26
    EFI_RISCV64 = 27
    EFI_RISCV64_HTTP = 28
    EFI_RISCV128 = 29
    EFI_RISCV128_HTTP = 30
    S390_BASIC = 31
    S390_EXTENDED = 32
    EFI_MIPS32 = 33
    EFI_MIPS64 = 34
    EFI_SUNWAY32 = 35
    EFI_SUNWAY64 = 36
    EFI_LOONGARCH32 = 37
    EFI_LOONGARCH32_HTTP = 38
    EFI_LOONGARCH64 = 39
    EFI_LOONGARCH64_HTTP = 40
    ARM_RPIBOOT = 41


class PxeSubOption(_KeepUnknown):
    """Sub-options of option 43 for PXE clients (PXE specification 2.1, table 2-1)."""

    PAD = 0
    MTFTP_IP = 1
    MTFTP_CPORT = 2
    MTFTP_SPORT = 3
    MTFTP_TMOUT = 4
    MTFTP_DELAY = 5
    DISCOVERY_CONTROL = 6
    DISCOVERY_MCAST_ADDR = 7
    BOOT_SERVERS = 8
    BOOT_MENU = 9
    MENU_PROMPT = 10
    MCAST_ADDRS_ALLOC = 11
    CREDENTIAL_TYPES = 12
    BOOT_ITEM = 71
    END = 255


class RelayAgentSubOption(_KeepUnknown):
    """Sub-options of option 82 (RFC 3046 and later); others are kept raw."""

    CIRCUIT_ID = 1
    REMOTE_ID = 2
    LINK_SELECTION = 5
    SUBSCRIBER_ID = 6
    SERVER_ID_OVERRIDE = 11
    RELAY_AGENT_ID = 12
    VIRTUAL_SUBNET_SELECTION = 151

"""The DHCP decision engine: one request in, one reply or one counted drop out.

No sockets and no database: it reads the :class:`~metalnet.core.view.BootView`,
the :class:`~metalnet.dhcp.leases.LeaseStore` (whose changes the server makes
durable before sending the replies) and the clock it is given.

Where a request goes (RFC 2131 4.3):

- a relayed request (giaddr set) belongs to the subnet holding giaddr;
- otherwise to the networks on the physical network of the ingress interface;
- a MAC with a port there gets the port's address and options;
- any other MAC gets what the network's ``unknown_mac_policy`` says.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from metalnet.core.boot import BootDefaults, no_defaults
from metalnet.core.model import HostRoute, Network, Port
from metalnet.core.policy import PolicyError, PolicyKind, UnknownPolicy
from metalnet.core.view import BootView, SubnetInfo
from metalnet.dhcp import boot_options as bo
from metalnet.dhcp.leases import LeaseStore
from metalnet.dhcp.sightings import SightingBook
from metalnet.wire.dhcp4 import MessageType, Packet, is_pxe_client, reply_for, select_reply_options
from metalnet.wire.dhcp4.options import (
    decode_u32,
    encode_ip,
    encode_ips,
    encode_text,
    encode_u16,
    encode_u32,
)
from metalnet.wire.dhcp4.packet import ReplyTemplate

BROADCAST: Final = "255.255.255.255"
CLIENT_PORT: Final = 68
SERVER_PORT: Final = 67
PROXY_PORT: Final = 4011
BROADCAST_FLAG: Final = 0x8000
_MESSAGE_TYPE: Final = 53
_REQUESTED_IP: Final = 50
_SERVER_ID: Final = 54
_PARAMETER_REQUEST_LIST: Final = 55
_ALWAYS_SENT: Final = bo.BOOT_CODES | {1, 3, 6, 51, 54, 58, 59}
"""Sent in address replies whether requested or not (boot options too, when set)."""

@dataclass(frozen=True, slots=True)
class Ingress:
    """Where a request came in: interface, its physical network and address."""

    interface: str
    physical_network: str
    server_ip: int
    proxy: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """An encoded reply to send to ``address``; ``lease_written`` means flush before sending.

    :ivar message_type: its option 53 (the server counts replies by it).
    """

    data: bytes
    message_type: int
    address: tuple[str, int]
    lease_written: bool = False

    @classmethod
    def of(cls, packet: Packet, address: tuple[str, int]) -> Reply:
        """``packet`` encoded; it must carry option 53.

        :raises WireError: it cannot be encoded.
        """
        message_type = packet.options[_MESSAGE_TYPE][0]
        return cls(packet.to_wire(), message_type, address)

    @property
    def packet(self) -> Packet:
        """The reply decoded again, for tests and logs."""
        return Packet.from_wire(self.data)


@dataclass(frozen=True, slots=True)
class Drop:
    """No answer, and why (a stable reason, counted by the server)."""

    reason: str


Outcome = Reply | Drop


@dataclass(frozen=True, slots=True)
class _Target:
    """Who is asking, and on which network and subnet.

    For a port, ``subnet`` is that of its first address on a DHCP-enabled subnet,
    and ``fixed_ip`` that address.
    """

    mac: str
    network: Network
    subnet: SubnetInfo | None
    port: Port | None
    fixed_ip: str | None = None


def _address_option(packet: Packet, code: int) -> int | None:
    """An address option (50, 54) as an int, without building an ``IPv4Address``.

    :raises BadOption: not four bytes.
    """
    value = packet.options.get(code)
    return None if value is None else decode_u32(value, code)


def _ip_text(address: int) -> str:
    return socket.inet_ntoa(address.to_bytes(4, "big"))  # 4x faster than ipaddress


@functools.lru_cache(maxsize=1 << 18)
def _ip_int(text: str) -> int:
    """A stored dotted-quad address as an int; cached, since ports' addresses repeat.

    :raises ValueError: not an IPv4 address.
    """
    return int(ipaddress.IPv4Address(text))


@functools.lru_cache(maxsize=1024)
def _parse_policy(text: str) -> UnknownPolicy:
    """A network's ``unknown_mac_policy``; ``ignore`` when it no longer parses."""
    try:
        return UnknownPolicy.parse(text)
    except PolicyError:
        return UnknownPolicy(PolicyKind.IGNORE)


class DhcpEngine:
    """Decides replies; see the module docstring.

    :param lease_time: seconds of a lease (T1 and T2 are 1/2 and 7/8 of it).
    :param clock: seconds since the epoch.
    """

    def __init__(
        self,
        view: BootView,
        leases: LeaseStore,
        sightings: SightingBook,
        clock: Callable[[], float],
        lease_time: int = 86400,
        boot_defaults: BootDefaults = no_defaults,
        domain_name: str | None = None,
    ) -> None:
        self.view = view
        self.leases = leases
        self.sightings = sightings
        self.clock = clock
        self.lease_time = lease_time
        self.boot_defaults = boot_defaults
        self.domain_name = domain_name
        self._lease_options = {
            51: encode_u32(lease_time),
            58: encode_u32(lease_time // 2),
            59: encode_u32(lease_time * 7 // 8),
        }
        self._subnet_cache: dict[tuple[str, int, int], dict[int, bytes]] = {}
        # (message type, server, subnet key, id(boot reply), option 55) -> (boot reply, template);
        # the boot reply is kept so its id cannot be reused while the entry lives.
        self._templates: dict[tuple[object, ...], tuple[bo.BootReply, ReplyTemplate]] = {}
        self._boot_cache: dict[tuple[object, ...], bo.BootReply] = {}
        self._boot_by_content: dict[tuple[object, ...], bo.BootReply] = {}

    # ------------------------------------------------------------------ entry

    def handle(self, packet: Packet, ingress: Ingress, mac: str | None) -> Outcome:
        """Decide the answer to one request. Never raises for any packet content.

        :param mac: ``packet.mac``, which the caller has read already (the server
            orders its batch by it), so it is formatted once per packet.
        """
        try:
            return self._handle(packet, ingress, mac)
        except ValueError as exc:  # WireError (bad option content) is a ValueError
            return Drop(f"malformed:{type(exc).__name__}")

    def _handle(self, packet: Packet, ingress: Ingress, mac: str | None) -> Outcome:
        if packet.op != 1:
            return Drop("not-a-request")
        if mac is None:
            return Drop("not-ethernet")
        message_type = packet.message_type
        if message_type is None:
            return Drop("bootp-not-served")
        target = self._target(packet, ingress, mac)
        if isinstance(target, Drop):
            return target
        no_address = target.port is None or target.subnet is None
        if ingress.proxy or (no_address and self._policy(target.network).kind is PolicyKind.PROXY):
            return self._proxy(packet, ingress, target, message_type)
        handler = self._HANDLERS.get(int(message_type))
        if handler is None:
            return Drop(f"message-type-{int(message_type)}")
        return handler(self, packet, ingress, target)

    # ------------------------------------------------------------------ where

    def _target(self, packet: Packet, ingress: Ingress, mac: str) -> _Target | Drop:
        ports = self.view.ports_for_mac(mac)
        if packet.giaddr:
            info = self.view.subnet_containing(packet.giaddr)
            if info is None:
                return Drop("relay-subnet-unknown")
            network = self.view.networks.get(info.subnet.network_id)
            if network is None:
                return Drop("relay-subnet-unknown")
            return self._with_port(mac, network, ports.get(network.id), info)
        networks = self.view.networks_on(ingress.physical_network)
        for network in networks:
            if network.id in ports:
                return self._with_port(mac, network, ports[network.id], None)
        if not networks:
            return Drop("no-network-on-interface")
        network = self._network_of_interface(networks, ingress.server_ip)
        return _Target(mac, network, self._first_subnet(network.id, ingress.server_ip), None)

    def _with_port(
        self, mac: str, network: Network, port: Port | None, relay_subnet: SubnetInfo | None
    ) -> _Target:
        if port is None:
            return _Target(mac, network, relay_subnet or self._first_subnet(network.id, 0), None)
        for fixed in port.fixed_ips:
            info = self.view.subnets.get(fixed.subnet_id)
            if info is not None and info.subnet.enable_dhcp:
                return _Target(mac, network, info, port, fixed.ip_address)
        return _Target(mac, network, None, port)

    def _network_of_interface(self, networks: list[Network], server_ip: int) -> Network:
        for network in networks:
            if any(s.contains(server_ip) for s in self.view.subnets_of(network.id)):
                return network
        return networks[0]

    def _first_subnet(self, network_id: str, preferred: int) -> SubnetInfo | None:
        subnets = [s for s in self.view.subnets_of(network_id) if s.subnet.enable_dhcp]
        for info in subnets:
            if info.contains(preferred):
                return info
        return subnets[0] if subnets else None

    @staticmethod
    def _policy(network: Network) -> UnknownPolicy:
        return _parse_policy(network.unknown_mac_policy)

    # ------------------------------------------------------------------ options

    @staticmethod
    def _subnet_key(info: SubnetInfo, network: Network) -> tuple[str, int, int]:
        return (info.subnet.id, info.subnet.revision_number, network.revision_number)

    def _subnet_options(self, info: SubnetInfo, network: Network) -> dict[int, bytes]:
        key = self._subnet_key(info, network)
        cached = self._subnet_cache.get(key)
        if cached is not None:
            return cached
        subnet = info.subnet
        mask = (0xFFFFFFFF << (32 - info.prefixlen)) & 0xFFFFFFFF
        options: dict[int, bytes] = {1: encode_ip(mask), 28: encode_ip(info.broadcast_int)}
        if subnet.gateway_ip:
            options[3] = encode_ip(ipaddress.IPv4Address(subnet.gateway_ip))
        if subnet.dns_nameservers:
            options[6] = encode_ips(ipaddress.IPv4Address(a) for a in subnet.dns_nameservers)
        if self.domain_name:
            options[15] = encode_text(self.domain_name)
        if network.mtu != 1500:
            options[26] = encode_u16(network.mtu)
        if subnet.host_routes:
            options[121] = _classless_routes(subnet.host_routes)
        if len(self._subnet_cache) > 10_000:
            self._subnet_cache.clear()
        self._subnet_cache[key] = options
        return options

    def _boot(
        self, packet: Packet, network: Network, port: Port | None, purpose: str, server_ip: int
    ) -> bo.BootReply:
        tags = bo.client_tags(packet)
        key = (
            server_ip,
            port.id if port else None,
            port.revision_number if port else None,
            network.id,
            network.revision_number,
            purpose,
            tags,
            self.view.boot_owner_key(port.mac_address) if port else None,
        )
        cached = self._boot_cache.get(key)
        if cached is not None:
            return cached
        # Thousands of ports share a few option sets: parse and encode each set once.
        content = (
            port.extra_dhcp_opts if port else (),
            self.boot_defaults(network, port, purpose, server_ip),
            tags,
        )
        reply = self._boot_by_content.get(content)
        if reply is None:
            own, fallback = bo.parse_all(content[0]), bo.parse_all(content[1])
            reply = bo.BootReply.build(bo.pick(bo.layered(own, fallback), tags))
            if len(self._boot_by_content) > 10_000:
                self._boot_by_content.clear()
            self._boot_by_content[content] = reply
        if len(self._boot_cache) > 100_000:
            self._boot_cache.clear()
        self._boot_cache[key] = reply
        return reply

    def _address_reply(
        self,
        packet: Packet,
        ingress: Ingress,
        target: _Target,
        message_type: MessageType,
        address: int,
        purpose: str,
        lease_written: bool = False,
    ) -> Reply:
        assert target.subnet is not None
        boot = self._boot(packet, target.network, target.port, purpose, ingress.server_ip)
        template = self._template(packet, ingress, target.subnet, target.network, boot,
                                  message_type)  # fmt: skip
        data = template.render(packet, address)
        return Reply(data, message_type, _destination(packet, message_type), lease_written)

    def _template(
        self,
        packet: Packet,
        ingress: Ingress,
        subnet: SubnetInfo,
        network: Network,
        boot: bo.BootReply,
        message_type: MessageType,
    ) -> ReplyTemplate:
        """The encoded options of an address reply, made once per subnet, boot option
        set and parameter request list (option 55 decides which options go, and in
        which order)."""
        requested = packet.options.get(_PARAMETER_REQUEST_LIST)
        key = (message_type, ingress.server_ip, self._subnet_key(subnet, network), id(boot),
               requested)  # fmt: skip
        cached = self._templates.get(key)
        if cached is not None and cached[0] is boot:
            return cached[1]
        candidates = {
            **self._subnet_options(subnet, network),
            **self._lease_options,
            **boot.options,
        }
        always = _ALWAYS_SENT | boot.options.keys() if boot.options else _ALWAYS_SENT
        options = select_reply_options(candidates, packet.parameter_request_list, always=always)
        template = ReplyTemplate(
            message_type,
            siaddr=boot.siaddr,
            server_id=ingress.server_ip,
            options=options,
            file=boot.file,
        )
        if len(self._templates) > 10_000:
            self._templates.clear()
        self._templates[key] = (boot, template)
        return template

    def _nak(self, packet: Packet, ingress: Ingress, target: _Target, why: str) -> Reply:
        reply = reply_for(
            packet, MessageType.NAK, server_id=ingress.server_ip, options={56: encode_text(why)}
        )
        if packet.giaddr and not reply.flags & BROADCAST_FLAG:
            # RFC 2131 4.3.2: through a relay, a NAK carries the broadcast bit so the
            # relay broadcasts it (the client's address may be wrong).
            reply = replace(reply, flags=reply.flags | BROADCAST_FLAG)
        return Reply.of(reply, _destination(packet, MessageType.NAK))

    # ------------------------------------------------------------------ addresses

    def _known_address(self, target: _Target) -> int | Drop:
        port = target.port
        assert port is not None
        if not port.admin_state_up:
            return Drop("port-down")
        if target.fixed_ip is None:
            return Drop("port-without-address")
        return _ip_int(target.fixed_ip)

    def _unknown_allowed(self, packet: Packet, target: _Target) -> UnknownPolicy | Drop:
        policy = self._policy(target.network)
        if policy.kind is not PolicyKind.POOL:
            # Under ``pool`` the lease journal is the record of who came; sightings are
            # for machines metalnet does not (yet) give an address, and for discovery.
            self.sightings.record(packet, target.mac, target.network.id, str(policy), self.clock())
        if policy.kind is PolicyKind.IGNORE:
            return Drop("unknown-mac:ignore")
        if policy.kind is PolicyKind.DELAY and packet.secs < policy.delay:
            # The delay only keeps this server out of a client's first exchange: a
            # client holding our offer or lease is answered (renewals and REQUESTs
            # often restart secs at 0).
            subnet_id = target.subnet.subnet.id if target.subnet is not None else ""
            if (
                self.leases.lease_of(subnet_id, target.mac) is None
                and self.leases.offered_to(subnet_id, target.mac) is None
            ):
                return Drop("unknown-mac:delay")
        if target.subnet is None:
            return Drop("no-subnet")
        return policy

    @staticmethod
    def _purpose(policy: UnknownPolicy) -> str:
        return "discovery" if policy.kind is PolicyKind.DISCOVER else "none"

    # ------------------------------------------------------------------ messages

    def _discover(self, packet: Packet, ingress: Ingress, target: _Target) -> Outcome:
        if target.port is not None:
            address = self._known_address(target)
            if isinstance(address, Drop):
                return address
            return self._address_reply(packet, ingress, target, MessageType.OFFER, address, "boot")
        policy = self._unknown_allowed(packet, target)
        if isinstance(policy, Drop):
            return policy
        assert target.subnet is not None
        subnet_id = target.subnet.subnet.id
        offered = self.leases.offer(
            subnet_id,
            target.mac,
            target.subnet.pools,
            lambda ip: self.view.holder_of(subnet_id, ip) is not None,
            _address_option(packet, _REQUESTED_IP),
        )
        if offered is None:
            return Drop("pool-exhausted")
        return self._address_reply(
            packet, ingress, target, MessageType.OFFER, offered, self._purpose(policy)
        )

    def _request(self, packet: Packet, ingress: Ingress, target: _Target) -> Outcome:
        server_id = _address_option(packet, _SERVER_ID)
        if server_id is not None and server_id != ingress.server_ip:
            if target.subnet is not None:
                self.leases.withdraw_offer(target.subnet.subnet.id, target.mac)
            return Drop("other-server-selected")
        requested = _address_option(packet, _REQUESTED_IP)
        wanted = requested if requested is not None else packet.ciaddr
        if not wanted:
            return Drop("request-without-address")
        if target.port is not None:
            address = self._known_address(target)
            if isinstance(address, Drop):
                return address
            if wanted != address:
                return self._nak(packet, ingress, target, "address is not yours")
            return self._address_reply(packet, ingress, target, MessageType.ACK, address, "boot")
        policy = self._unknown_allowed(packet, target)
        if isinstance(policy, Drop):
            return policy
        assert target.subnet is not None
        subnet_id = target.subnet.subnet.id
        lease = self.leases.lease_of(subnet_id, target.mac)
        offered = self.leases.offered_to(subnet_id, target.mac)
        if self.view.holder_of(subnet_id, wanted) is not None:
            # A port took the address (even one this client leased before): the port wins.
            return self._nak(packet, ingress, target, "address not available")
        if wanted not in {lease.ip if lease else None, offered}:
            in_pool = any(lo <= wanted <= hi for lo, hi in target.subnet.pools)
            if server_id is None and not target.subnet.contains(wanted):
                return self._nak(packet, ingress, target, "wrong network")
            if not in_pool or not self.leases.is_free(wanted, target.mac):
                return self._nak(packet, ingress, target, "address not available")
        self.leases.commit(wanted, target.mac, subnet_id, self.lease_time)
        return self._address_reply(
            packet, ingress, target, MessageType.ACK, wanted, self._purpose(policy), True
        )

    def _decline(self, packet: Packet, _ingress: Ingress, target: _Target) -> Outcome:
        requested = _address_option(packet, _REQUESTED_IP)
        if target.port is not None or target.subnet is None or requested is None:
            return Drop("decline-ignored")
        lease = self.leases.lease_of(target.subnet.subnet.id, target.mac)
        if lease is None or lease.ip != requested:
            return Drop("decline-ignored")
        self.leases.decline(lease.ip, target.subnet.subnet.id)
        return Drop("declined")

    def _release(self, packet: Packet, _ingress: Ingress, target: _Target) -> Outcome:
        if target.port is None and target.subnet is not None:
            lease = self.leases.lease_of(target.subnet.subnet.id, target.mac)
            if lease is not None and lease.ip == packet.ciaddr:
                self.leases.release(lease.ip)
                return Drop("released")
        return Drop("release-ignored")

    def _inform(self, packet: Packet, ingress: Ingress, target: _Target) -> Outcome:
        if not packet.ciaddr:
            return Drop("inform-without-ciaddr")
        if target.port is None and self._policy(target.network).kind is PolicyKind.IGNORE:
            self.sightings.record(packet, target.mac, target.network.id, "ignore", self.clock())
            return Drop("unknown-mac:ignore")
        info = target.subnet or self.view.subnet_containing(packet.ciaddr)
        if info is None:
            return Drop("no-subnet")
        boot = self._boot(packet, target.network, target.port, "boot", ingress.server_ip)
        candidates = {**self._subnet_options(info, target.network), **boot.options}
        options = select_reply_options(candidates, packet.parameter_request_list)
        reply = reply_for(
            packet,
            MessageType.ACK,
            siaddr=boot.siaddr,
            server_id=ingress.server_ip,
            options=options,
            file=boot.file,
        )
        address = (
            (_ip_text(packet.giaddr), SERVER_PORT)
            if packet.giaddr
            else (_ip_text(packet.ciaddr), CLIENT_PORT)
        )
        return Reply.of(reply, address)

    def _proxy(
        self, packet: Packet, ingress: Ingress, target: _Target, message_type: MessageType
    ) -> Outcome:
        """proxyDHCP (PXE spec 2.1): boot options only; another server gives addresses.

        Registered machines get their boot options; unknown ones are recorded and
        get the discovery boot only when the network names a discovery profile.
        """
        if not is_pxe_client(packet):
            return Drop("proxy-not-pxe")
        if message_type not in (MessageType.DISCOVER, MessageType.REQUEST, MessageType.INFORM):
            return Drop("proxy-ignored")
        if target.port is None:
            self.sightings.record(packet, target.mac, target.network.id, "proxy", self.clock())
            if target.network.discovery_profile_id is None:
                return Drop("unknown-mac:proxy")
        elif not target.port.admin_state_up:
            return Drop("port-down")
        purpose = "boot" if target.port is not None else "discovery"
        boot = self._boot(packet, target.network, target.port, purpose, ingress.server_ip)
        if not boot.file:
            return Drop("proxy-no-boot-file")
        reply_type = MessageType.OFFER if message_type == MessageType.DISCOVER else MessageType.ACK
        options = {60: b"PXEClient", **boot.options}
        reply = reply_for(
            packet,
            reply_type,
            siaddr=boot.siaddr,
            server_id=ingress.server_ip,
            options=options,
            file=boot.file,
        )
        if ingress.proxy:
            address = (_ip_text(packet.ciaddr) if packet.ciaddr else BROADCAST, CLIENT_PORT)
            return Reply.of(reply, address)
        return Reply.of(reply, _destination(packet, reply_type))

    _HANDLERS: dict[int, Callable[[DhcpEngine, Packet, Ingress, _Target], Outcome]] = {
        int(MessageType.DISCOVER): _discover,
        int(MessageType.REQUEST): _request,
        int(MessageType.DECLINE): _decline,
        int(MessageType.RELEASE): _release,
        int(MessageType.INFORM): _inform,
    }


def _destination(request: Packet, message_type: MessageType) -> tuple[str, int]:
    """RFC 2131 4.1: relay first; NAK broadcast; renewals unicast; else broadcast.

    A client without an address cannot receive unicast before it has ARP
    state, and injecting ARP entries needs raw sockets, so those replies are
    broadcast, as most servers do.
    """
    if request.giaddr:
        return _ip_text(request.giaddr), SERVER_PORT
    if message_type != MessageType.NAK and request.ciaddr:
        return _ip_text(request.ciaddr), CLIENT_PORT
    return BROADCAST, CLIENT_PORT


def _classless_routes(routes: tuple[HostRoute, ...]) -> bytes:
    """Option 121 (RFC 3442): width, significant destination octets, router."""
    out = bytearray()
    for route in routes:
        network = ipaddress.IPv4Network(route.destination)
        significant = (network.prefixlen + 7) // 8
        out.append(network.prefixlen)
        out += network.network_address.packed[:significant]
        out += ipaddress.IPv4Address(route.nexthop).packed
    return bytes(out)

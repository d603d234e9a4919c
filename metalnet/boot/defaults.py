"""The boot options a machine gets when its port sets none.

BIOS PXE loads iPXE (``undionly.kpxe``) over TFTP, UEFI loads ``ipxe.efi``, and
iPXE — recognised by its user class or option 175 — is sent to the HTTP
``boot.ipxe``, which chains to the machine's own ``/boot/<mac>.ipxe``. So a
machine with a boot profile boots with no per-port option at all, and the
chainload ends at the script instead of looping back into iPXE.

Where those files come from, in order: the hypervisor owning the machine's node
(one and only one hypervisor serves a node's boot files), the network's own
``boot_dhcp_opts``, or the host that answers.
"""

from __future__ import annotations

import ipaddress

from metalnet.core.boot import BootDefaults
from metalnet.core.model import ExtraDhcpOpt, Hypervisor, Network, Node, Port
from metalnet.core.view import BootView

LOADERS = {"bios": "undionly.kpxe", "uefi": "ipxe.efi"}
"""The iPXE build each firmware loads over TFTP."""


def boot_options(
    server_ip: str, http_base: str, firmware: str = "auto"
) -> tuple[ExtraDhcpOpt, ...]:
    """Options pointing firmware at TFTP on ``server_ip`` and iPXE at ``http_base``.

    :param firmware: ``auto`` picks the loader from the client's architecture
        (option 93); ``bios`` or ``uefi`` send that loader to every PXE client.
    """
    loaders = (
        (ExtraDhcpOpt("bootfile-name", LOADERS[firmware]),)
        if firmware in LOADERS
        else (
            ExtraDhcpOpt("tag:bios,bootfile-name", LOADERS["bios"]),
            ExtraDhcpOpt("tag:efi-x86_64,bootfile-name", LOADERS["uefi"]),
        )
    )
    return (
        ExtraDhcpOpt("server-ip-address", server_ip),
        *loaders,
        ExtraDhcpOpt("tag:ipxe,bootfile-name", f"{http_base}/boot.ipxe"),
    )


def host_boot_options(server_ip: str, http_port: int) -> tuple[ExtraDhcpOpt, ...]:
    """Options pointing every firmware at this host's TFTP and HTTP boot."""
    return boot_options(server_ip, f"http://{server_ip}:{http_port}")


def hypervisor_boot_options(
    hypervisor: Hypervisor, node: Node, http_port: int
) -> tuple[ExtraDhcpOpt, ...]:
    """The option set of ``hypervisor`` for ``node``: its ``dhcp_opts`` when it has
    some, else next-server and TFTP server (option 66) at its boot address, and
    its HTTP base (``boot_address:http_port`` if unset)."""
    if hypervisor.dhcp_opts:
        return hypervisor.dhcp_opts
    base = hypervisor.http_boot_url or f"http://{hypervisor.boot_address}:{http_port}"
    return (
        *boot_options(hypervisor.boot_address, base, node.firmware),
        ExtraDhcpOpt("tftp-server", hypervisor.boot_address),
    )


def boot_defaults_for(http_port: int, view: BootView) -> BootDefaults:
    """The fallback the DHCP engine asks (see the module docstring for the order)."""

    def defaults(
        network: Network, port: Port | None, purpose: str, server_ip: int
    ) -> tuple[ExtraDhcpOpt, ...]:
        if purpose == "none":
            return ()
        node = view.node_of(port.mac_address) if port is not None else None
        owner = view.owner_of(node) if node is not None else None
        if node is not None and owner is not None:
            return hypervisor_boot_options(owner, node, http_port)
        if network.boot_dhcp_opts:
            return network.boot_dhcp_opts
        return host_boot_options(str(ipaddress.IPv4Address(server_ip)), http_port)

    return defaults

"""The boot options a network gets when neither the port nor the network sets any.

BIOS PXE loads iPXE (``undionly.kpxe``) over TFTP, UEFI loads ``ipxe.efi``, and
iPXE — recognised by its user class or option 175 — is sent to the HTTP
``boot.ipxe``, which chains to the machine's own ``/boot/<mac>.ipxe``. So a
machine with a boot profile boots with no per-port option at all, and the
chainload ends at the script instead of looping back into iPXE.
"""

from __future__ import annotations

import ipaddress

from metalnet.core.model import ExtraDhcpOpt, Network
from metalnet.dhcp.engine import BootDefaults


def host_boot_options(server_ip: str, http_port: int) -> tuple[ExtraDhcpOpt, ...]:
    """Options pointing every firmware at this host's TFTP and HTTP boot."""
    return (
        ExtraDhcpOpt("server-ip-address", server_ip),
        ExtraDhcpOpt("tag:bios,bootfile-name", "undionly.kpxe"),
        ExtraDhcpOpt("tag:efi-x86_64,bootfile-name", "ipxe.efi"),
        ExtraDhcpOpt("tag:ipxe,bootfile-name", f"http://{server_ip}:{http_port}/boot.ipxe"),
    )


def boot_defaults_for(http_port: int) -> BootDefaults:
    """The fallback the DHCP engine asks: the network's own ``boot_dhcp_opts``
    when it has some, else :func:`host_boot_options` for the answering address."""

    def defaults(network: Network, purpose: str, server_ip: int) -> tuple[ExtraDhcpOpt, ...]:
        if purpose == "none":
            return ()
        if network.boot_dhcp_opts:
            return network.boot_dhcp_opts
        return host_boot_options(str(ipaddress.IPv4Address(server_ip)), http_port)

    return defaults

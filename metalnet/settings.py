"""Settings of ``metalnet serve``: one typed object, validated at start, passed down.

Every setting can come from the command line or from a ``METALNET_*``
environment variable (``METALNET_LISTEN``, ``METALNET_STATE_DIR``, ...); the
command line wins. Nothing reads the environment at import time.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STATE_DIR = Path("/var/lib/metalnet")


def split_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) -> (host, port).

    :raises ValueError: no port, or a port out of range.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"'{text}' is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


class Settings(BaseSettings):
    """What ``metalnet serve`` runs with."""

    model_config = SettingsConfigDict(env_prefix="METALNET_", extra="forbid")

    listen: str = "127.0.0.1:9696"
    state_dir: Path = DEFAULT_STATE_DIR
    db: str | None = None
    interfaces: list[str] = Field(default_factory=list)
    noauth: bool = False
    dhcp_lease_time: int = Field(86400, ge=60, le=2**31 - 1)
    boot_dir: Path | None = None
    bootloader_dir: Path | None = None
    http_port: int = Field(8080, ge=1, le=65535)
    tftp_port: int = Field(69, ge=1, le=65535)
    tftp_workers: int | None = Field(None, ge=0, le=1024)
    hypervisor_dead_after: float = Field(30.0, ge=1.0, le=86400.0)
    switch_drivers: list[str] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        split_host_port(value)
        return value

    @field_validator("interfaces")
    @classmethod
    def _check_interfaces(cls, values: list[str]) -> list[str]:
        for value in values:
            physnet, sep, iface = value.partition(":")
            if not sep or not physnet or not iface:
                raise ValueError(f"'{value}' is not PHYSNET:IFACE")
        return values

    @property
    def listen_address(self) -> tuple[str, int]:
        """(host, port) of the API."""
        return split_host_port(self.listen)

    @property
    def database_url(self) -> str:
        """``--db``, or SQLite under the state directory."""
        return self.db or f"sqlite:///{self.state_dir / 'metalnet.sqlite'}"

    @property
    def boot_directory(self) -> Path:
        """``--boot-dir``, or ``boot/`` under the state directory."""
        return self.boot_dir or self.state_dir / "boot"

    @property
    def interface_map(self) -> dict[str, str]:
        """Physical network -> host interface."""
        return dict(value.split(":", 1) for value in self.interfaces)

    @property
    def listens_on_loopback(self) -> bool:
        """Whether the API is reachable from this host only."""
        host = self.listen_address[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

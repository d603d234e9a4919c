"""The inventory the discovery agent posts (``POST /v1/discovery``), validated.

Bodies above :data:`MAX_BODY` bytes are refused before parsing. Strings are
bounded, lists are bounded, MACs are normalised to lowercase ``aa:bb:..``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from metalnet.core.mac import canonical_mac

MAX_BODY = 64 * 1024
"""Largest accepted inventory, in bytes."""

Short = Annotated[str, StringConstraints(max_length=64)]
Text = Annotated[str, StringConstraints(max_length=256)]
Count = Annotated[int, Field(ge=0, le=1 << 20)]
Size = Annotated[int, Field(ge=0, le=1 << 62)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cpu(_Strict):
    count: Count | None = None
    model: Text | None = None
    architecture: Short | None = None


class Memory(_Strict):
    total_mib: Size | None = None


class Disk(_Strict):
    name: Short
    size_bytes: Size | None = None
    model: Text | None = None
    vendor: Text | None = None
    serial: Text | None = None
    rotational: bool | None = None


class Nic(_Strict):
    name: Short
    mac: str
    speed_mbps: Count | None = None
    link: bool | None = None
    driver: Short | None = None

    @field_validator("mac")
    @classmethod
    def _check_mac(cls, value: str) -> str:
        return canonical_mac(value)


class Dmi(_Strict):
    vendor: Text | None = None
    product: Text | None = None
    serial: Text | None = None
    uuid: Text | None = None
    bios_vendor: Text | None = None
    bios_version: Text | None = None


class Inventory(_Strict):
    """What a machine says about itself."""

    version: Literal[1] = 1
    agent: Short = ""
    boot_mode: Literal["bios", "uefi"]
    boot_mac: str | None = None
    cpu: Cpu = Cpu()
    memory: Memory = Memory()
    disks: list[Disk] = Field(default_factory=list, max_length=256)
    nics: list[Nic] = Field(min_length=1, max_length=64)
    dmi: Dmi = Dmi()

    @field_validator("boot_mac")
    @classmethod
    def _boot_mac(cls, value: str | None) -> str | None:
        return None if value is None else canonical_mac(value)

    @model_validator(mode="after")
    def _boot_mac_is_a_nic(self) -> Inventory:
        if self.boot_mac is not None and self.boot_mac not in self.macs:
            raise ValueError(f"boot_mac {self.boot_mac} is not the MAC of a listed NIC")
        return self

    @property
    def macs(self) -> list[str]:
        """Every NIC's MAC, in the order listed (no duplicates)."""
        return list(dict.fromkeys(n.mac for n in self.nics))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (what is stored)."""
        return self.model_dump(mode="json")

"""Request bodies of the Neutron v2.0 dialect, as pydantic models.

Attribute names with a colon (``provider:network_type``, ``binding:host_id``)
are aliases of the domain's field names; ``tenant_id`` is accepted as an alias
of ``project_id``. Unknown attributes are refused (400), as Neutron does.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(max_length=255)]
Description = Annotated[str, StringConstraints(max_length=1024)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^,]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _tenant_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "tenant_id" in data:
            data = dict(data)
            tenant = data.pop("tenant_id")
            if data.setdefault("project_id", tenant) != tenant:
                raise ValueError("tenant_id and project_id differ")
        return data

    def attributes(self) -> dict[str, Any]:
        """The attributes the caller set, under the domain's field names."""
        return self.model_dump(exclude_unset=True, by_alias=False)


class DhcpOptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opt_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    opt_value: Annotated[str, StringConstraints(max_length=1024)] | None
    ip_version: int = 4


class NetworkCreate(_Body):
    project_id: Name | None = None
    name: Name = ""
    description: Description = ""
    admin_state_up: bool = True
    shared: bool = False
    mtu: int = 1500
    network_type: str = Field("flat", alias="provider:network_type")
    physical_network: str | None = Field(None, alias="provider:physical_network", max_length=64)
    segmentation_id: int | None = Field(None, alias="provider:segmentation_id")
    unknown_mac_policy: str = "ignore"
    boot_dhcp_opts: list[DhcpOptBody] = []
    discovery_profile_id: str | None = Field(None, alias="discovery_profile", max_length=255)
    tags: list[Tag] = []


class NetworkUpdate(_Body):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    shared: bool | None = None
    mtu: int | None = None
    network_type: str | None = Field(None, alias="provider:network_type")
    physical_network: str | None = Field(None, alias="provider:physical_network", max_length=64)
    segmentation_id: int | None = Field(None, alias="provider:segmentation_id")
    unknown_mac_policy: str | None = None
    boot_dhcp_opts: list[DhcpOptBody] | None = None
    discovery_profile_id: str | None = Field(None, alias="discovery_profile", max_length=255)


class PoolBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str
    end: str


class RouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destination: str
    nexthop: str


class SubnetCreate(_Body):
    network_id: str
    cidr: str
    ip_version: int = 4
    project_id: Name | None = None
    name: Name = ""
    description: Description = ""
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    allocation_pools: list[PoolBody] | None = None
    dns_nameservers: list[str] | None = []
    host_routes: list[RouteBody] | None = []
    tags: list[Tag] = []


class SubnetUpdate(_Body):
    name: Name | None = None
    description: Description | None = None
    gateway_ip: str | None = None
    enable_dhcp: bool | None = None
    allocation_pools: list[PoolBody] | None = None
    dns_nameservers: list[str] | None = None
    host_routes: list[RouteBody] | None = None


class FixedIpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subnet_id: str | None = None
    ip_address: str | None = None


class PortCreate(_Body):
    network_id: str
    project_id: Name | None = None
    name: Name = ""
    description: Description = ""
    mac_address: str | None = None
    fixed_ips: list[FixedIpBody] | None = None
    device_id: Name = ""
    device_owner: Name = ""
    binding_host_id: Name = Field("", alias="binding:host_id")
    binding_vnic_type: str = Field("normal", alias="binding:vnic_type")
    binding_profile: dict[str, Any] = Field({}, alias="binding:profile")
    extra_dhcp_opts: list[DhcpOptBody] = []
    boot_profile_id: str | None = Field(None, alias="boot_profile", max_length=255)
    admin_state_up: bool = True
    tags: list[Tag] = []


class PortUpdate(_Body):
    network_id: str | None = None
    name: Name | None = None
    description: Description | None = None
    mac_address: str | None = None
    fixed_ips: list[FixedIpBody] | None = None
    device_id: Name | None = None
    device_owner: Name | None = None
    binding_host_id: Name | None = Field(None, alias="binding:host_id")
    binding_vnic_type: str | None = Field(None, alias="binding:vnic_type")
    binding_profile: dict[str, Any] | None = Field(None, alias="binding:profile")
    extra_dhcp_opts: list[DhcpOptBody] | None = None
    boot_profile_id: str | None = Field(None, alias="boot_profile", max_length=255)
    admin_state_up: bool | None = None


def without_nulls(attrs: dict[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    """Drop attributes set to ``null`` except those where ``null`` means something."""
    return {k: v for k, v in attrs.items() if v is not None or k in keep}

"""Version document, resource index, extensions, and the refused ``/tenants`` paths."""

from __future__ import annotations

from fastapi import APIRouter, Request

from metalnet.api.neutron.kinds import KINDS
from metalnet.api.responses import JSONResponse
from metalnet.errors import Forbidden, NotFound

EXTENSIONS = {
    "provider": ("Provider Network", "Physical network, network type and segment of a network."),
    "binding": ("Port Binding", "Host, vnic type and profile a port is bound with."),
    "extra_dhcp_opt": ("Neutron Extra DHCP options", "Extra DHCP options per port."),
    "standard-attr-revisions": ("Resource revision numbers", "revision_number on resources."),
    "revision-if-match": (
        "If-Match constraints based on revision_number",
        "Compare-and-swap updates.",
    ),
    "standard-attr-tag": ("Tag support for resources", "Tags on networks, subnets and ports."),
    "standard-attr-timestamp": ("Resource timestamps", "created_at and updated_at."),
    "standard-attr-description": ("Standard attribute description", "description on resources."),
    "project-id": ("project_id field enabled", "project_id beside tenant_id."),
    "pagination": ("Pagination support", "limit, marker and page_reverse on lists."),
    "sorting": ("Sorting support", "sort_key and sort_dir on lists."),
    "filter-validation": ("Filter parameters validation", "Unknown filters are refused with 400."),
    "fixed-ips-filter": ("IP address substring filtering", "fixed_ips=ip_address=... filters."),
    "metalnet-boot": (
        "Boot profiles and boot options",
        "boot_profile on ports; boot_dhcp_opts and discovery_profile on networks.",
    ),
    "metalnet-unknown-mac-policy": (
        "Unknown MAC policy",
        "unknown_mac_policy on networks: ignore, pool, discover, delay:N, proxy.",
    ),
}
UPDATED = "2026-11-22T00:00:00-00:00"


def _extension(alias: str) -> dict[str, object]:
    name, description = EXTENSIONS[alias]
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "updated": UPDATED,
        "links": [],
    }


def meta_router() -> APIRouter:
    """Routes that describe the API itself."""
    router = APIRouter(tags=["meta"])

    @router.get("/", summary="API versions")
    async def versions(request: Request) -> JSONResponse:
        href = str(request.base_url).rstrip("/") + "/v2.0/"
        return JSONResponse(
            {
                "versions": [
                    {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}
                ]
            }
        )

    @router.get("/v2.0", summary="Resources of v2.0")
    @router.get("/v2.0/", include_in_schema=False)
    async def resources(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/") + "/v2.0/"
        return JSONResponse(
            {
                "resources": [
                    {
                        "name": k.singular,
                        "collection": k.plural,
                        "links": [{"rel": "self", "href": base + k.plural}],
                    }
                    for k in KINDS
                ]
            }
        )

    @router.get("/v2.0/extensions", summary="Implemented extensions")
    async def extensions() -> JSONResponse:
        return JSONResponse({"extensions": [_extension(a) for a in EXTENSIONS]})

    @router.get("/v2.0/extensions/{alias}", summary="One extension")
    async def extension(alias: str) -> JSONResponse:
        if alias not in EXTENSIONS:
            raise NotFound(f"Extension with alias {alias} does not exist.")
        return JSONResponse({"extension": _extension(alias)})

    @router.api_route(
        "/v2.0/tenants/{rest:path}",
        methods=["GET", "POST", "PUT", "DELETE"],
        include_in_schema=False,
    )
    async def tenants(rest: str) -> JSONResponse:
        raise Forbidden(reason="Per-tenant paths are not supported; use project_id filters.")

    return router

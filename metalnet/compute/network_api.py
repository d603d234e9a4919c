"""What the compute side needs of a network service, and its HTTP client.

:class:`NetworkApi` is a handful of Neutron v2.0 calls on plain Neutron bodies
(``{"id": ..., "mac_address": ..., "binding:host_id": ...}``), so the compute
side works against metalnet or any Neutron-compatible endpoint.
:class:`HttpNetworkApi` speaks it over HTTP; conditional reads send
``If-None-Match`` with the revision the caller holds and get ``None`` back on 304.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from metalnet.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MetalnetError,
    NotFound,
    PreconditionFailed,
    Unavailable,
)

Body = dict[str, Any]


class NetworkApi(Protocol):
    """Ports and networks, Neutron style. Errors are :mod:`metalnet.errors` classes."""

    def show(self, collection: str, resource_id: str, revision: int | None = None) -> Body | None:
        """A network or port; ``None`` when it is still at ``revision`` (not modified).

        :raises NotFound: no such resource.
        """

    def find_ports(self, filters: Mapping[str, str]) -> list[Body]:
        """Ports matching every filter (``mac_address``, ``network_id``, ...)."""

    def create_port(self, body: Body) -> Body:
        """Create a port.

        :raises Conflict: the MAC already has a port on the network.
        """

    def update_port(self, port_id: str, body: Body, revision: int | None = None) -> Body:
        """Change a port, only if it is still at ``revision`` (when given).

        :raises NotFound: no such port.
        :raises PreconditionFailed: the port changed since ``revision``.
        """

    def delete_port(self, port_id: str) -> None:
        """Delete a port.

        :raises NotFound: no such port.
        """


_BY_STATUS: dict[int, type[MetalnetError]] = {
    400: Invalid, 401: Forbidden, 403: Forbidden, 404: NotFound, 409: Conflict,
    412: PreconditionFailed,
}


class HttpNetworkApi:
    """:class:`NetworkApi` over HTTP (``X-Auth-Token`` when a token is given).

    :param transport: an httpx transport (tests inject one).
    """

    def __init__(
        self, url: str, token: str | None = None, timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"X-Auth-Token": token} if token else {}
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(reason=f"network API {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = str(response.json()["NeutronError"]["message"])
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {response.status_code}: {response.text[:200]}"
            error = _BY_STATUS.get(response.status_code, Unavailable)
            raise error(message)
        return response

    def show(self, collection: str, resource_id: str, revision: int | None = None) -> Body | None:
        headers = {"If-None-Match": f'"{revision}"'} if revision is not None else {}
        response = self._call("GET", f"/v2.0/{collection}/{resource_id}", headers=headers)
        if response.status_code == 304:
            return None
        return dict(response.json()[collection[:-1]])

    def find_ports(self, filters: Mapping[str, str]) -> list[Body]:
        response = self._call("GET", "/v2.0/ports", params=dict(filters))
        return [dict(p) for p in response.json()["ports"]]

    def create_port(self, body: Body) -> Body:
        return dict(self._call("POST", "/v2.0/ports", json={"port": body}).json()["port"])

    def update_port(self, port_id: str, body: Body, revision: int | None = None) -> Body:
        headers = {"If-Match": f"revision_number={revision}"} if revision is not None else {}
        response = self._call("PUT", f"/v2.0/ports/{port_id}", json={"port": body},
                              headers=headers)
        return dict(response.json()["port"])

    def delete_port(self, port_id: str) -> None:
        self._call("DELETE", f"/v2.0/ports/{port_id}")

"""A small cache of ports and networks in front of a :class:`NetworkApi`.

Every read revalidates: a cached resource is asked for with its revision
(``If-None-Match``), and the usual answer is an empty 304. A MAC's ports are
searched once (``?mac_address=``, all networks in one call) and then read by
id; writes go out with ``If-Match`` on the cached revision, so a stale entry can
never cause a wrong write: the 412 drops it and the caller reads again.
:class:`CacheStats` counts what was saved.
"""

from __future__ import annotations

from dataclasses import dataclass

from metalnet.compute.network_api import Body, NetworkApi
from metalnet.errors import NotFound


@dataclass
class CacheStats:
    """Calls made and saved.

    :ivar searches: port searches sent (``GET /v2.0/ports?mac_address=``).
    :ivar searches_saved: look-ups answered from a MAC's known ports instead.
    :ivar reads: conditional reads sent.
    :ivar not_modified: reads answered 304 (no body: the cached one was current).
    """

    searches: int = 0
    searches_saved: int = 0
    reads: int = 0
    not_modified: int = 0


class NetworkCache:
    """Cached, revalidated reads of ports (by MAC and network) and networks."""

    def __init__(self, api: NetworkApi) -> None:
        self.api = api
        self.stats = CacheStats()
        self._resources: dict[tuple[str, str], Body] = {}
        self._ports_of_mac: dict[str, dict[str, str]] = {}

    def _revalidated(self, collection: str, resource_id: str) -> Body | None:
        key = (collection, resource_id)
        cached = self._resources.get(key)
        self.stats.reads += 1
        try:
            fresh = self.api.show(
                collection, resource_id, cached["revision_number"] if cached else None
            )
        except NotFound:
            self.forget(collection, resource_id)
            return None
        if fresh is None and cached is not None:
            self.stats.not_modified += 1
            return cached
        assert fresh is not None
        self.remember(collection, fresh)
        return fresh

    def network(self, network_id: str) -> Body:
        """A network (revalidated).

        :raises NotFound: no such network.
        """
        found = self._revalidated("networks", network_id)
        if found is None:
            raise NotFound(resource="Network", id=network_id)
        return found

    def port(self, port_id: str) -> Body | None:
        """A port (revalidated), or ``None`` when it is gone."""
        return self._revalidated("ports", port_id)

    def port_for(self, mac: str, network_id: str) -> Body | None:
        """The port of ``mac`` on the network, or ``None``."""
        known = self._ports_of_mac.get(mac)
        if known is not None and network_id in known:
            found = self.port(known[network_id])
            if found is not None and found["mac_address"] == mac:
                self.stats.searches_saved += 1
                return found
        self.stats.searches += 1
        self._ports_of_mac[mac] = {}
        for port in self.api.find_ports({"mac_address": mac}):
            self.remember("ports", port)
        port_id = self._ports_of_mac[mac].get(network_id)
        return None if port_id is None else self._resources[("ports", port_id)]

    def remember(self, collection: str, body: Body) -> None:
        """Keep a resource as the API returned it (after a read or a write)."""
        self._resources[(collection, body["id"])] = body
        if collection == "ports":
            self._ports_of_mac.setdefault(body["mac_address"], {})[body["network_id"]] = body["id"]

    def forget(self, collection: str, resource_id: str) -> None:
        """Drop a resource (deleted, or found stale)."""
        body = self._resources.pop((collection, resource_id), None)
        if body is not None and collection == "ports":
            known = self._ports_of_mac.get(body["mac_address"], {})
            if known.get(body["network_id"]) == resource_id:
                del known[body["network_id"]]

"""The API's own Neutron side as a :class:`~metalnet.compute.network_api.NetworkApi`.

What ``/v2.0`` does, without HTTP: the same schemas, services and bodies, each
call in its own unit of work as over the wire, as the admin. The compute side
of an API process uses it; :class:`~metalnet.compute.network_api.HttpNetworkApi`
is the same contract against any Neutron-compatible endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping

from metalnet.api.deps import in_unit_of_work
from metalnet.api.neutron.kinds import NETWORK, PORT, ResourceKind
from metalnet.api.neutron.query import parse_list
from metalnet.api.neutron.routes import checked_attributes
from metalnet.compute.network_api import Body
from metalnet.core import ports
from metalnet.core.context import ADMIN
from metalnet.store.store import Store

_KINDS = {"networks": NETWORK, "ports": PORT}


class LocalNetworkApi:
    """:class:`~metalnet.compute.network_api.NetworkApi` over ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def show(self, collection: str, resource_id: str, revision: int | None = None) -> Body | None:
        kind: ResourceKind = _KINDS[collection]
        with self.store.unit_of_work(readonly=True) as uow:
            found = kind.get(uow, ADMIN, resource_id)
            if revision is not None and found.revision_number == revision:
                return None
            return kind.render(uow, [found])[0]

    def find_ports(self, filters: Mapping[str, str]) -> list[Body]:
        query = parse_list(PORT, list(filters.items()), None).query
        return in_unit_of_work(self.store, lambda uow: PORT.render(uow, uow.ports.list(query)))

    def create_port(self, body: Body) -> Body:
        attrs = checked_attributes(PORT, body, PORT.create_schema)
        return in_unit_of_work(
            self.store, lambda uow: PORT.render(uow, ports.create_ports(uow, ADMIN, [attrs])),
            write=True,
        )[0]

    def update_port(self, port_id: str, body: Body, revision: int | None = None) -> Body:
        attrs = checked_attributes(PORT, body, PORT.update_schema)
        return in_unit_of_work(
            self.store,
            lambda uow: PORT.render(uow, [ports.update_port(uow, ADMIN, port_id, attrs, revision)]),
            write=True,
        )[0]

    def delete_port(self, port_id: str) -> None:
        in_unit_of_work(self.store, lambda uow: ports.delete_port(uow, ADMIN, port_id), write=True)

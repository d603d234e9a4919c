"""The API's own Neutron side as a :class:`~metalnet.compute.network_api.NetworkApi`.

What ``/v2.0`` does, without HTTP: the same schemas, services and bodies, each
call in its own unit of work as over the wire, as the admin. The compute side
of an API process uses it; :class:`~metalnet.compute.network_api.HttpNetworkApi`
is the same contract against any Neutron-compatible endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from metalnet.api.neutron.kinds import NETWORK, PORT, ResourceKind
from metalnet.api.neutron.routes import validation_message
from metalnet.compute.network_api import Body
from metalnet.core import ports
from metalnet.core.context import ADMIN
from metalnet.core.repo import ListQuery
from metalnet.errors import BadRequest
from metalnet.store.store import Store

_KINDS = {"networks": NETWORK, "ports": PORT}


def _attributes(body: Body, schema: type[BaseModel]) -> dict[str, Any]:
    try:
        return PORT.attributes(body, schema)
    except ValidationError as exc:
        raise BadRequest(resource="port", reason=validation_message(exc)) from exc


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
        converted = {}
        for name, value in filters.items():
            field, convert = PORT.filters[name]
            converted[field] = [convert(value)]
        with self.store.unit_of_work(readonly=True) as uow:
            return PORT.render(uow, uow.ports.list(ListQuery(filters=converted)))

    def create_port(self, body: Body) -> Body:
        attrs = _attributes(body, PORT.create_schema)
        with self.store.unit_of_work() as uow:
            (created,) = ports.create_ports(uow, ADMIN, [attrs])
            uow.commit()
            return PORT.render(uow, [created])[0]

    def update_port(self, port_id: str, body: Body, revision: int | None = None) -> Body:
        attrs = _attributes(body, PORT.update_schema)
        with self.store.unit_of_work() as uow:
            updated = ports.update_port(uow, ADMIN, port_id, attrs, revision)
            uow.commit()
            return PORT.render(uow, [updated])[0]

    def delete_port(self, port_id: str) -> None:
        with self.store.unit_of_work() as uow:
            ports.delete_port(uow, ADMIN, port_id)
            uow.commit()

"""The error hierarchy of metalnet.

Every error a user can see is one of these; each class carries an HTTP status
and a message format, and the API turns it into Neutron's error body
``{"NeutronError": {"type": <class name>, "message": ..., "detail": ""}}``::

    MetalnetError (500)
     +-- Invalid (400)            bad body, bad filter, bad value
     +-- Forbidden (403)          authenticated but not allowed
     +-- NotFound (404)           NetworkNotFound, SubnetNotFound, PortNotFound, ...
     +-- Conflict (409)           MacAddressInUse, IpAddressInUse, NetworkInUse, ...
     +-- PreconditionFailed (412) If-Match revision mismatch
     +-- Unavailable (503)        a dependency (database) is not reachable

Wire-level errors (malformed packets) are not here: they live in
:mod:`metalnet.wire.errors` and never reach a user as an exception.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MetalnetError(Exception):
    """Root of user-visible errors.

    :param kwargs: values for :attr:`message_format`.
    """

    status: ClassVar[int] = 500
    message_format: ClassVar[str] = "An unexpected error occurred."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.message = message if message is not None else self.message_format.format(**kwargs)
        super().__init__(self.message)

    @property
    def type(self) -> str:
        """The error's stable name, as Neutron clients read it."""
        return type(self).__name__


class Invalid(MetalnetError):
    status = 400
    message_format = "Invalid input: {reason}"


class BadRequest(Invalid):
    message_format = "Bad {resource} request: {reason}."


class InvalidInput(Invalid):
    message_format = "Invalid input for operation: {reason}."


class Forbidden(MetalnetError):
    status = 403
    message_format = "{reason}"


class PolicyNotAuthorized(Forbidden):
    message_format = "(rule:{action}) is disallowed by policy."


class NotAuthenticated(MetalnetError):
    status = 401
    message_format = "Authentication required."


class NotFound(MetalnetError):
    status = 404
    message_format = "{resource} {id} could not be found."


class MarkerNotFound(NotFound):
    message_format = "Marker {id} could not be found."


class NetworkNotFound(NotFound):
    message_format = "Network {id} could not be found."


class SubnetNotFound(NotFound):
    message_format = "Subnet {id} could not be found."


class PortNotFound(NotFound):
    message_format = "Port {id} could not be found."


class Conflict(MetalnetError):
    status = 409
    message_format = "{reason}"


class MacAddressInUse(Conflict):
    message_format = (
        "Unable to complete operation for network {net_id}. The mac address {mac} is in use."
    )


class IpAddressInUse(Conflict):
    message_format = (
        "Unable to complete operation for network {net_id}. The IP address {ip_address} is in use."
    )


class IpAddressGenerationFailure(Conflict):
    message_format = "No more IP addresses available on network {net_id}."


class NetworkInUse(Conflict):
    message_format = (
        "Unable to complete operation on network {net_id}. There are one or "
        "more ports still in use on the network."
    )


class SubnetInUse(Conflict):
    message_format = (
        "Unable to complete operation on subnet {subnet_id}: one or more ports "
        "have an IP allocation from this subnet."
    )


class PreconditionFailed(MetalnetError):
    status = 412
    message_format = "Constrained to {expected} but the current revision is {current}."


class RevisionNumberConstraintFailed(PreconditionFailed):
    message_format = (
        "Constrained to revision_number {expected} but the current revision is {current}."
    )


class Unavailable(MetalnetError):
    status = 503
    message_format = "Service unavailable: {reason}"

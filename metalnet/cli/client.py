"""A small HTTP client of metalnet's API for the CLI."""

from __future__ import annotations

import argparse
from typing import Any

import httpx


class CliError(Exception):
    """A command failed; the message is shown to the user as is."""


class ApiClient:
    """Calls the API and turns Neutron error bodies into :class:`CliError`."""

    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        headers = {"X-Auth-Token": token} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON body (``None`` for 204).

        :raises CliError: the API is unreachable or answered an error.
        """
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the API at {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                error = response.json()["NeutronError"]
                raise CliError(f"{error['type']}: {error['message']}")
            except (ValueError, KeyError, TypeError):
                raise CliError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        return response.json() if response.content else None

    def find(self, plural: str, ref: str) -> dict[str, Any]:
        """A resource by id, else by unique name.

        :raises CliError: none or several match.
        """
        singular = plural[:-1]
        try:
            return dict(self.request("GET", f"/v2.0/{plural}/{ref}")[singular])
        except CliError as exc:
            if "NotFound" not in str(exc):
                raise
        found = self.request("GET", f"/v2.0/{plural}", params={"name": ref})[plural]
        if len(found) != 1:
            what = "No" if not found else "More than one"
            raise CliError(f"{what} {singular} named or with id '{ref}'") from None
        return dict(found[0])


def client_for(args: argparse.Namespace) -> ApiClient:
    """The client of a command's ``--url`` and ``--token``."""
    return ApiClient(args.url, args.token)

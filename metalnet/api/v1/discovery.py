"""``/v1/enrollment-rules`` and ``/v1/discovered``: what unknown machines said and the
rules that enroll them. Admins only. (Machines post their inventory to
``/v1/discovery`` on the boot HTTP port: :mod:`metalnet.discovery.endpoint`.)"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request, Response

from metalnet.api.deps import context_of, in_thread, run_unit_of_work, store_of
from metalnet.api.neutron.routes import json_body
from metalnet.api.responses import JSONResponse
from metalnet.core.ports import normalize_mac
from metalnet.core.resources import new_id, utc_now
from metalnet.discovery.enroll import MachineNotFound
from metalnet.discovery.model import DiscoveredMachine
from metalnet.discovery.rules import (
    EnrollmentRule,
    conditions_from,
    parse_actions,
    rule_as_dict,
    validated_rule,
)
from metalnet.discovery.wiring import ingestor_for
from metalnet.errors import BadRequest, InvalidInput, NotFound, PolicyNotAuthorized
from metalnet.store.discovery import DiscoveryRepo
from metalnet.store.uow import SqlUnitOfWork

_RULE_KEYS = {"name", "description", "priority", "enabled", "conditions", "actions"}


class RuleNotFound(NotFound):
    message_format = "Enrollment rule {id} could not be found."


def _admin(request: Request, action: str) -> None:
    if not context_of(request).is_admin:
        raise PolicyNotAuthorized(action=action)


def _rule_body(payload: Any, required: bool) -> dict[str, Any]:
    if not isinstance(payload, dict) or set(payload) != {"enrollment_rule"}:
        raise BadRequest(resource="enrollment_rule",
                         reason="the body must be {'enrollment_rule': {...}}")
    body = payload["enrollment_rule"]
    if not isinstance(body, dict) or not set(body) <= _RULE_KEYS:
        raise BadRequest(resource="enrollment_rule",
                         reason=f"an enrollment rule has {', '.join(sorted(_RULE_KEYS))}")
    if required and "name" not in body:
        raise BadRequest(resource="enrollment_rule", reason="name is required")
    checks = {"name": str, "description": str, "priority": int, "enabled": bool}
    for key, kind in checks.items():
        if key in body and (not isinstance(body[key], kind) or (isinstance(body[key], bool)
                            and kind is int)):
            raise InvalidInput(reason=f"{key} must be a {kind.__name__}")
    return body


def _apply(rule: EnrollmentRule, body: dict[str, Any]) -> EnrollmentRule:
    changes: dict[str, Any] = {k: body[k] for k in ("name", "description", "priority", "enabled")
                               if k in body}
    if "conditions" in body:
        changes["conditions"] = conditions_from(body["conditions"])
    if "actions" in body:
        changes["actions"] = parse_actions(body["actions"])
    return validated_rule(dataclasses.replace(rule, **changes, updated_at=utc_now()))


def _repo(uow: SqlUnitOfWork) -> DiscoveryRepo:
    return DiscoveryRepo(uow.connection)


def _rule(repo: DiscoveryRepo, ref: str) -> EnrollmentRule:
    rule = repo.rule(ref)
    if rule is None:
        raise RuleNotFound(id=ref)
    return rule


def _machine(repo: DiscoveryRepo, ref: str) -> DiscoveredMachine:
    """A discovered machine by id, else by MAC.

    :raises MachineNotFound: neither.
    """
    found = repo.machine_by_ref(ref)
    if found is None:
        raise MachineNotFound(id=ref)
    return found


def discovery_router() -> APIRouter:
    """Routes of ``/v1/enrollment-rules`` and ``/v1/discovered``."""
    router = APIRouter(tags=["discovery"])

    # -------------------------------------------------------------- rules

    @router.get("/v1/enrollment-rules", summary="List enrollment rules, in the order tried")
    async def list_rules(request: Request) -> JSONResponse:
        _admin(request, "get_enrollment_rule")
        found = await run_unit_of_work(
            request, lambda uow: [rule_as_dict(r) for r in _repo(uow).rules()]
        )
        return JSONResponse({"enrollment_rules": found})

    @router.post("/v1/enrollment-rules", status_code=201, summary="Create an enrollment rule")
    async def create_rule(request: Request) -> JSONResponse:
        _admin(request, "create_enrollment_rule")
        body = _rule_body(await json_body(request), required=True)
        now = utc_now()
        rule = _apply(EnrollmentRule(id=new_id(), name=body["name"], created_at=now), body)
        await run_unit_of_work(request, lambda uow: _repo(uow).add_rule(rule), write=True)
        return JSONResponse({"enrollment_rule": rule_as_dict(rule)}, status_code=201)

    @router.get("/v1/enrollment-rules/{ref}", summary="Show an enrollment rule (id or name)")
    async def show_rule(request: Request, ref: str) -> JSONResponse:
        _admin(request, "get_enrollment_rule")
        rule = await run_unit_of_work(request, lambda uow: _rule(_repo(uow), ref))
        return JSONResponse({"enrollment_rule": rule_as_dict(rule)})

    @router.put("/v1/enrollment-rules/{ref}", summary="Update an enrollment rule")
    async def update_rule(request: Request, ref: str) -> JSONResponse:
        _admin(request, "update_enrollment_rule")
        body = _rule_body(await json_body(request), required=False)

        def work(uow: SqlUnitOfWork) -> EnrollmentRule:
            repo = _repo(uow)
            updated = _apply(_rule(repo, ref), body)
            repo.update_rule(updated)
            return updated

        updated = await run_unit_of_work(request, work, write=True)
        return JSONResponse({"enrollment_rule": rule_as_dict(updated)})

    @router.delete("/v1/enrollment-rules/{ref}", status_code=204,
                   summary="Delete an enrollment rule")
    async def delete_rule(request: Request, ref: str) -> Response:
        _admin(request, "delete_enrollment_rule")

        def work(uow: SqlUnitOfWork) -> None:
            repo = _repo(uow)
            repo.delete_rule(_rule(repo, ref).id)

        await run_unit_of_work(request, work, write=True)
        return Response(status_code=204)

    # -------------------------------------------------------------- discovered machines

    @router.get("/v1/discovered", summary="Machines that posted an inventory (?state=, ?mac=)")
    async def list_discovered(
        request: Request, state: str | None = None, mac: str | None = None
    ) -> JSONResponse:
        _admin(request, "get_discovered")

        def work(uow: SqlUnitOfWork) -> list[dict[str, Any]]:
            repo = _repo(uow)
            if mac:
                found = repo.machine_by_macs([normalize_mac(mac)])
                machines = [found] if found and state in (None, found.state) else []
            else:
                machines = repo.machines(state)
            return [m.as_dict() for m in machines]

        return JSONResponse({"discovered": await run_unit_of_work(request, work)})

    @router.get("/v1/discovered/{ref}", summary="Show a discovered machine (id or MAC)")
    async def show_discovered(request: Request, ref: str) -> JSONResponse:
        _admin(request, "get_discovered")
        found = await run_unit_of_work(request, lambda uow: _machine(_repo(uow), ref))
        return JSONResponse({"discovered": found.as_dict()})

    @router.post("/v1/discovered/{ref}/enroll",
                 summary="Enroll a discovered machine with the given actions")
    async def enroll(request: Request, ref: str) -> JSONResponse:
        _admin(request, "enroll_discovered")
        payload = await json_body(request)
        if not isinstance(payload, dict) or not set(payload) <= {"actions"}:
            raise BadRequest(resource="enroll", reason="the body is {'actions': {...}}")
        actions = parse_actions(payload.get("actions") or {})

        machine = await run_unit_of_work(request, lambda uow: _machine(_repo(uow), ref))
        ingestor = ingestor_for(store_of(request))
        enrolled = await in_thread(ingestor.enroll_manually, machine.id, actions)
        return JSONResponse({"discovered": enrolled.as_dict()})

    @router.delete("/v1/discovered/{ref}", status_code=204,
                   summary="Forget a discovered machine (its ports and node stay)")
    async def forget(request: Request, ref: str) -> Response:
        _admin(request, "delete_discovered")

        def work(uow: SqlUnitOfWork) -> None:
            repo = _repo(uow)
            repo.delete_machine(_machine(repo, ref).id)

        await run_unit_of_work(request, work, write=True)
        return Response(status_code=204)

    return router

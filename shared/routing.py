"""What every service route gets from the app factory: a query parameter the route does
not declare is refused (422 naming it) rather than silently ignored, since a client that
misspells a filter would otherwise read unfiltered data as if it were filtered."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.utils import get_flat_dependant
from fastapi.routing import APIRoute

from shared.problems import safe_parameter_name
from shared.rules import RuleViolation

_DECLARED = "_shouhu_query_names"


def declared_query_names(route: APIRoute) -> frozenset[str]:
    names = getattr(route, _DECLARED, None)
    if names is None:
        flat = get_flat_dependant(route.dependant, skip_repeats=True)
        names = frozenset(param.alias for param in flat.query_params)
        setattr(route, _DECLARED, names)
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    unknown = sorted(set(request.query_params.keys()) - declared_query_names(route))
    if unknown:
        raise RuleViolation(f"query.{safe_parameter_name(unknown[0])}", "unknown query parameter")

"""Visits' use cases shared by routes: which county's vocabulary a caller reads or
changes. (Contacts, concerns, cases, duties and plans keep their use cases in their
domain_*.py rules and store_*.py SQL, called from the routes in one transaction.)"""

from __future__ import annotations

from services.visits.domain import POLICY_EDITORS
from shared.auth import Principal, scope_prefix
from shared.routes import STAFF_ROLES, require_roles
from shared.rules import Refusal, RuleViolation
from shared.scope import not_found


# A county's own vocabularies (activity types, referral agencies): the defaults every county
# starts with are stored under county_code '' and path segment "default".
def vocabulary_county_to_read(principal: Principal, county_code: str | None, *,
                              also: tuple[str, ...] = ()) -> str:
    """The county whose vocabulary a staff member (or a role in `also`) reads: the one named,
    else their own; a county outside their scope is 404."""
    require_roles(principal, *STAFF_ROLES, *also)
    county = (county_code or principal.jurisdiction)[:6] + "000000"
    if not (principal.covers(county) or county.startswith(principal.scope_prefix[:6])):
        raise not_found("county in your scope")
    return county


def vocabulary_county_to_write(principal: Principal, county: str) -> str:
    """The stored county code for a change to a vocabulary at path segment `county`: county
    staff of that county and admin; the defaults ("default" → '') are admin's only."""
    require_roles(principal, *POLICY_EDITORS)
    if county == "default":
        if not principal.has_role("admin"):
            raise Refusal(403, "role_not_allowed", "only an admin changes the defaults every county starts with")
        return ""
    if len(scope_prefix(county)) != 6:
        raise RuleViolation("path.county", "a county code")
    if not principal.covers(county):
        raise not_found("county in your scope")
    return county

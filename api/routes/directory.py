"""Organisations, compounds and users, each inside the caller's jurisdiction."""

from typing import Any

from fastapi import APIRouter
from sqlmodel import col, select

from api.access import (
    Actor,
    compounds_in_jurisdiction,
    organisations_in_jurisdiction,
    require_compound,
    require_organisation,
    require_role,
    require_user,
)
from api.deps import CurrentActor, ReadSession, WriteSession
from api.errors import Conflict
from api.security import close_all_sessions
from store import audit
from store.models import Compound, Organisation, Role, User
from ui.i18n import N_

router = APIRouter(prefix="/api", tags=["directory"])


def organisation_json(organisation: Organisation) -> dict[str, Any]:
    return {
        "id": organisation.id,
        "parent_id": organisation.parent_id,
        "kind": organisation.kind.value,
        "department_type": organisation.department_type,
        "code": organisation.code,
        "name": organisation.name,
        "name_en": organisation.name_en,
    }


def compound_json(compound: Compound) -> dict[str, Any]:
    return {
        "id": compound.id,
        "code": compound.code,
        "name": compound.name,
        "street_id": compound.street_id,
        "company_id": compound.company_id,
        "households": compound.households,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "organisation_id": user.organisation_id,
        "is_active": user.is_active,
    }


@router.get("/me")
def me(actor: CurrentActor) -> dict[str, Any]:
    """The signed-in user, their organisation and jurisdiction."""
    return {
        **user_json(actor.user),
        "organisation": organisation_json(actor.organisation),
        "jurisdiction": organisation_json(actor.jurisdiction),
    }


@router.get("/organisations")
def list_organisations(
    session: ReadSession, actor: CurrentActor
) -> list[dict[str, Any]]:
    """Organisations inside the caller's jurisdiction."""
    return [organisation_json(o) for o in organisations_in_jurisdiction(session, actor)]


@router.get("/organisations/{organisation_id}")
def get_organisation(
    organisation_id: int, session: ReadSession, actor: CurrentActor
) -> dict[str, Any]:
    """One organisation, if it lies inside the caller's jurisdiction."""
    return organisation_json(require_organisation(session, actor, organisation_id))


@router.get("/compounds")
def list_compounds(session: ReadSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """Compounds the caller's organisation oversees or serves."""
    return [compound_json(c) for c in compounds_in_jurisdiction(session, actor)]


@router.get("/compounds/{compound_id}")
def get_compound(
    compound_id: int, session: ReadSession, actor: CurrentActor
) -> dict[str, Any]:
    """One compound, if the caller oversees or serves it."""
    return compound_json(require_compound(session, actor, compound_id))


def _require_staff_manager(actor: Actor) -> None:
    require_role(actor, Role.ADMINISTRATOR, Role.SUPERVISOR)


@router.get("/users")
def list_users(session: ReadSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """Users of the organisations inside the caller's jurisdiction."""
    _require_staff_manager(actor)
    inside = select(Organisation.id).where(
        col(Organisation.path).startswith(actor.jurisdiction.path)
    )
    users = session.exec(
        select(User)
        .where(col(User.organisation_id).in_(inside))
        .order_by(col(User.username))
    )
    return [user_json(u) for u in users]


@router.get("/users/{user_id}")
def get_user(user_id: int, session: ReadSession, actor: CurrentActor) -> dict[str, Any]:
    """One user, if they work inside the caller's jurisdiction."""
    if user_id != actor.id:
        _require_staff_manager(actor)
    return user_json(require_user(session, actor, user_id))


def set_user_active(
    session: ReadSession | WriteSession, actor: Actor, user_id: int, active: bool
) -> User:
    """Enable or disable an account; disabling ends its sessions at once."""
    require_role(actor, Role.ADMINISTRATOR)
    user = require_user(session, actor, user_id)
    if user.id == actor.id and not active:
        raise Conflict(N_("You cannot disable your own account."))
    user.is_active = active
    session.add(user)
    if not active:
        close_all_sessions(session, user_id)
    audit.record(
        session,
        actor_id=actor.id,
        action="user.enabled" if active else "user.disabled",
        object_type="user",
        object_id=user_id,
    )
    return user


@router.post("/users/{user_id}/disable")
def disable_user(
    user_id: int, session: WriteSession, actor: CurrentActor
) -> dict[str, Any]:
    """Disable an account and end its sessions."""
    return user_json(set_user_active(session, actor, user_id, active=False))


@router.post("/users/{user_id}/enable")
def enable_user(
    user_id: int, session: WriteSession, actor: CurrentActor
) -> dict[str, Any]:
    """Enable a disabled account again."""
    return user_json(set_user_active(session, actor, user_id, active=True))

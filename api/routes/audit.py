"""The audit log's integrity, for province administrators."""

from typing import Any

from fastapi import APIRouter

from api.access import require_role
from api.deps import CurrentActor, ReadSession
from api.errors import NotAllowed
from store.audit import verify_database
from store.models import Role
from ui.i18n import N_

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("/verify")
def verify(session: ReadSession, actor: CurrentActor) -> dict[str, Any]:
    """Recompute the hash chain and name the first entry that was tampered with."""
    require_role(actor, Role.ADMINISTRATOR)
    if not actor.is_province_admin:
        raise NotAllowed(N_("Only a province administrator may verify the audit log."))
    report = verify_database(session)
    return {
        "intact": report.intact,
        "checked": report.checked,
        "first_bad_id": report.first_bad_id,
        "problem": report.problem,
    }

"""Who may see and do what: roles plus the user's jurisdiction.

Every object belongs to an organisation. A user acts inside the subtree of
their jurisdiction root: their own organisation for offices and companies, the
government level a department serves for department staff. Anything outside
is refused with 403, never silently filtered, so a wrong link says so.
"""

from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from api.errors import NotAllowed, NotFound
from store.models import Compound, Organisation, OrgKind, Role, User
from ui.i18n import N_

OUTSIDE = N_("This belongs to another organisation outside your jurisdiction.")


@dataclass(frozen=True)
class Actor:
    """The signed-in user with the organisation facts access checks need."""

    user: User
    organisation: Organisation
    jurisdiction: Organisation

    @property
    def id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def is_province_admin(self) -> bool:
        return (
            self.role is Role.ADMINISTRATOR
            and self.jurisdiction.kind is OrgKind.PROVINCE
        )

    def covers(self, organisation: Organisation) -> bool:
        """Whether `organisation` lies inside this user's jurisdiction."""
        return self.covers_path(organisation.path)

    def covers_path(self, path: str) -> bool:
        """`covers` on an organisation's path alone."""
        return path.startswith(self.jurisdiction.path)


def load_actor(
    session: Session, user: User, organisation: Organisation | None = None
) -> Actor:
    """The user as an actor; `organisation` is theirs when already at hand."""
    if organisation is None:
        organisation = session.get(Organisation, user.organisation_id)
    assert organisation is not None
    jurisdiction = organisation
    # Department staff serve the whole area of the government they belong to
    # (a county department acts across the county, art. 31-35).
    if organisation.kind is OrgKind.DEPARTMENT and organisation.parent_id:
        parent = session.get(Organisation, organisation.parent_id)
        if parent is not None:
            jurisdiction = parent
    return Actor(user=user, organisation=organisation, jurisdiction=jurisdiction)


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise NotAllowed(N_("Your role may not do this."))


def require_organisation(session: Session, actor: Actor, org_id: int) -> Organisation:
    organisation = session.get(Organisation, org_id)
    if organisation is None:
        raise NotFound(N_("No such organisation."))
    if not actor.covers(organisation):
        raise NotAllowed(OUTSIDE)
    return organisation


def require_compound(session: Session, actor: Actor, compound_id: int) -> Compound:
    compound = session.get(Compound, compound_id)
    if compound is None:
        raise NotFound(N_("No such compound."))
    if actor.role is Role.COMPANY:
        if compound.company_id != actor.organisation.id:
            raise NotAllowed(OUTSIDE)
        return compound
    street = session.get(Organisation, compound.street_id)
    if street is None or not actor.covers(street):
        raise NotAllowed(OUTSIDE)
    return compound


def require_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such user."))
    if user.id == actor.id:
        return user
    organisation = session.get(Organisation, user.organisation_id)
    if actor.role is Role.COMPANY or organisation is None:
        raise NotAllowed(OUTSIDE)
    if not actor.covers(organisation):
        raise NotAllowed(OUTSIDE)
    return user


def organisations_in_jurisdiction(session: Session, actor: Actor) -> list[Organisation]:
    query = select(Organisation).where(
        col(Organisation.path).startswith(actor.jurisdiction.path)
    )
    return list(session.exec(query.order_by(col(Organisation.path))))


def compounds_in_jurisdiction(session: Session, actor: Actor) -> list[Compound]:
    if actor.role is Role.COMPANY:
        query = select(Compound).where(Compound.company_id == actor.organisation.id)
    else:
        streets = select(Organisation.id).where(
            col(Organisation.path).startswith(actor.jurisdiction.path)
        )
        query = select(Compound).where(or_(col(Compound.street_id).in_(streets)))
    return list(session.exec(query.order_by(col(Compound.name))))

"""Demo data for `make run`: an organisation tree, users of every role,
companies and compounds. Running it again changes nothing."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from api.security import hash_password
from domain.deadlines import PeriodKind, compute_deadline
from store.calendars import load_calendar, open_deadline
from store.models import (
    Compound,
    Deadline,
    DepartmentType,
    Organisation,
    OrgKind,
    Role,
    User,
)

DEMO_PASSWORD = "wuye-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    organisation: str  # organisation code


# (code, parent code, kind, name, English name, department type)
ORGANISATIONS: list[
    tuple[str, str | None, OrgKind, str, str, DepartmentType | None]
] = [
    ("P", None, OrgKind.PROVINCE, "示范省", "Demo Province", None),
    (
        "P-HOUSING",
        "P",
        OrgKind.DEPARTMENT,
        "省住房和城乡建设厅",
        "Provincial Housing Dept.",
        DepartmentType.HOUSING,
    ),
    ("C1", "P", OrgKind.CITY, "示范市", "Demo City", None),
    (
        "C1-HOUSING",
        "C1",
        OrgKind.DEPARTMENT,
        "示范市住房和城乡建设局",
        "City Housing Bureau",
        DepartmentType.HOUSING,
    ),
    ("D1", "C1", OrgKind.DISTRICT, "东城区", "Dongcheng District", None),
    (
        "D1-HOUSING",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区住房和城乡建设局",
        "Dongcheng Housing Bureau",
        DepartmentType.HOUSING,
    ),
    (
        "D1-CONSTRUCTION",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区建设局",
        "Dongcheng Construction Bureau",
        DepartmentType.CONSTRUCTION,
    ),
    (
        "D1-PLANNING",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区规划和自然资源局",
        "Dongcheng Planning Bureau",
        DepartmentType.PLANNING,
    ),
    (
        "D1-URBAN",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区城市管理综合执法局",
        "Dongcheng Urban Management",
        DepartmentType.URBAN_MANAGEMENT,
    ),
    (
        "D1-MARKET",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区市场监督管理局",
        "Dongcheng Market Supervision",
        DepartmentType.MARKET_SUPERVISION,
    ),
    (
        "D1-POLICE",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区公安分局",
        "Dongcheng Public Security",
        DepartmentType.PUBLIC_SECURITY,
    ),
    (
        "D1-FIRE",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区消防救援大队",
        "Dongcheng Fire and Rescue",
        DepartmentType.FIRE_RESCUE,
    ),
    (
        "D1-AIRDEF",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区人民防空办公室",
        "Dongcheng Civil Air Defence",
        DepartmentType.CIVIL_AIR_DEFENCE,
    ),
    (
        "D1-GREEN",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区园林绿化局",
        "Dongcheng Greening Bureau",
        DepartmentType.GREENING,
    ),
    (
        "D1-DISCIPLINE",
        "D1",
        OrgKind.DEPARTMENT,
        "东城区纪委监委",
        "Dongcheng Discipline Inspection",
        DepartmentType.DISCIPLINE_INSPECTION,
    ),
    (
        "D1-COURT",
        "D1",
        OrgKind.COURT,
        "东城区人民法院",
        "Dongcheng District Court",
        None,
    ),
    ("S1", "D1", OrgKind.STREET, "和平街道办事处", "Heping Street Office", None),
    ("S1-C1", "S1", OrgKind.COMMUNITY, "和平里社区", "Hepingli Community", None),
    (
        "S1-MED",
        "S1",
        OrgKind.MEDIATION_COMMITTEE,
        "和平街道人民调解委员会",
        "Heping People's Mediation Committee",
        None,
    ),
    ("S2", "D1", OrgKind.STREET, "光明街道办事处", "Guangming Street Office", None),
    ("S2-C1", "S2", OrgKind.COMMUNITY, "光明社区", "Guangming Community", None),
    ("D2", "C1", OrgKind.DISTRICT, "西城区", "Xicheng District", None),
    ("S3", "D2", OrgKind.STREET, "新街口街道办事处", "Xinjiekou Street Office", None),
    (
        "CO-1",
        "C1",
        OrgKind.COMPANY,
        "安居物业服务有限公司",
        "Anju Property Services Co.",
        None,
    ),
    (
        "CO-2",
        "C1",
        OrgKind.COMPANY,
        "宜家园物业管理有限公司",
        "Yijiayuan Property Management Co.",
        None,
    ),
]

# (code, name, street code, company code, households, address)
COMPOUNDS = [
    ("XQ-001", "和平花园", "S1", "CO-1", 860, "和平路18号"),
    ("XQ-002", "翠湖小区", "S1", "CO-2", 420, "翠湖街7号"),
    ("XQ-003", "光明新村", "S2", "CO-1", 1240, "光明大道201号"),
    ("XQ-004", "阳光里", "S2", "CO-2", 180, "阳光巷3号"),
    ("XQ-005", "新街口公寓", "S3", "CO-2", 96, "新街口北大街40号"),
]

USERS = [
    DemoUser("admin", "系统管理员", Role.ADMINISTRATOR, "P"),
    DemoUser("wang", "王晓梅", Role.CASEWORKER, "S1"),
    DemoUser("sun", "孙志强", Role.CASEWORKER, "S1"),
    DemoUser("li", "李红", Role.SUPERVISOR, "S1"),
    DemoUser("zhou", "周明", Role.CASEWORKER, "S2"),
    DemoUser("wu", "吴芳", Role.SUPERVISOR, "S2"),
    DemoUser("d1admin", "东城区管理员", Role.ADMINISTRATOR, "D1"),
    DemoUser("d2admin", "西城区管理员", Role.ADMINISTRATOR, "D2"),
    DemoUser("zhao", "赵静", Role.CASEWORKER, "D1-HOUSING"),
    DemoUser("chen", "陈国栋", Role.COMPANY, "CO-1"),
    DemoUser("gao", "高远", Role.COMPANY, "CO-2"),
    DemoUser("liu", "刘淑英", Role.MEDIATOR, "S1-MED"),
]

# Deadlines for the home pages until the procedures fill the read model:
# (organisation code, subject, kind, start, amount, basis)
DEMO_DEADLINES = [
    (
        "S1",
        "示例：投诉受理决定",
        PeriodKind.WORKING_DAYS,
        date(2026, 11, 27),
        7,
        "art. 76",
    ),
    (
        "S1",
        "示例：投诉办理",
        PeriodKind.CALENDAR_DAYS,
        date(2026, 11, 20),
        60,
        "art. 80",
    ),
    ("S2", "示例：异议转送", PeriodKind.CALENDAR_DAYS, date(2026, 12, 1), 5, "art. 34"),
    (
        "S1-MED",
        "示例：申请司法确认",
        PeriodKind.CALENDAR_DAYS,
        date(2026, 11, 30),
        30,
        "art. 72",
    ),
]


def seed(session: Session) -> bool:
    """Create the demo data unless it is there; True when it was created."""
    if session.exec(select(Organisation).where(Organisation.code == "P")).first():
        return False
    by_code: dict[str, Organisation] = {}
    for code, parent, kind, name, name_en, department in ORGANISATIONS:
        parent_org = by_code[parent] if parent else None
        organisation = Organisation(
            parent_id=parent_org.id if parent_org else None,
            kind=kind,
            department_type=department,
            code=code,
            name=name,
            name_en=name_en,
        )
        session.add(organisation)
        session.flush()
        organisation.path = (
            f"{parent_org.path if parent_org else '/'}{organisation.id}/"
        )
        by_code[code] = organisation
    for code, name, street, company, households, address in COMPOUNDS:
        session.add(
            Compound(
                code=code,
                name=name,
                street_id=by_code[street].id or 0,
                company_id=by_code[company].id,
                households=households,
                address=address,
            )
        )
    password_hash = hash_password(DEMO_PASSWORD)
    for demo in USERS:
        session.add(
            User(
                username=demo.username,
                display_name=demo.display_name,
                email=f"{demo.username}@example.org",
                password_hash=password_hash,
                role=demo.role,
                organisation_id=by_code[demo.organisation].id or 0,
            )
        )
    calendar = load_calendar(session)
    for org, subject, period, start, amount, basis in DEMO_DEADLINES:
        if session.exec(select(Deadline).where(Deadline.subject == subject)).first():
            continue
        open_deadline(
            session,
            subject=subject,
            computed=compute_deadline(period, start, amount, calendar, basis),
            organisation_id=by_code[org].id,
        )
    return True

"""Permission scopes and the roles that hold them (SEC-3 access control).

Every route declares one of these through ``gongshu.web.deps.requires``;
tests/test_permissions.py enumerates the app's routes and checks both that
each declares one and that no role reaches a scope it does not hold.
"""

from __future__ import annotations

PUBLIC = "public"  # anyone, no login (the open portal, login page)
ACCOUNT_SELF = "account:self"  # any signed-in user: own profile and tokens
CATALOG_READ = "catalog:read"
CATALOG_EDIT = "catalog:edit"  # an agency edits its own entries (CAT-6)
CATALOG_REVIEW = "catalog:review"  # the data authority of the tier reviews (CAT-2, CAT-6)
DATASET_LOAD = "dataset:load"  # AGG-1
DATASET_PREVIEW = "dataset:preview"
USER_ADMIN = "user:admin"
LEDGER_READ = "ledger:read"
DATA_RECEIVE = "data:receive"  # read data through one's own grants, via the egress door
SHARING_APPLY = "sharing:apply"  # an agency applies for conditional-share data (SHR-3)
SHARING_ANSWER = "sharing:answer"  # the provider answers within 10 working days (SHR-4)
SHARING_DECIDE = "sharing:decide"  # the data authority decides referred cases, supervises (GOV-2)
OPEN_APPLY = "open:apply"  # a verified user declares a use, applies, signs agreements (OPN-2..5)
CALENDAR_ADMIN = "calendar:admin"  # enter the State Council holiday schedule for a new year
DISCOVERY_ADMIN = "discovery:admin"  # edit the grading rules (a new version each time)

ALL_SCOPES = (
    ACCOUNT_SELF,
    CATALOG_READ,
    CATALOG_EDIT,
    CATALOG_REVIEW,
    DATASET_LOAD,
    DATASET_PREVIEW,
    USER_ADMIN,
    LEDGER_READ,
    DATA_RECEIVE,
    SHARING_APPLY,
    SHARING_ANSWER,
    SHARING_DECIDE,
    OPEN_APPLY,
    CALENDAR_ADMIN,
    DISCOVERY_ADMIN,
)

ROLE_LABELS = {
    "admin": "平台管理员",
    "reviewer": "数据管理部门审核员",
    "clerk": "部门数据专员",
    "operator": "授权运营机构",
    "auditor": "审计人员",
    "regulator": "监管人员",
    "enterprise": "企业用户",
    "public": "社会公众",
}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(ALL_SCOPES),
    "reviewer": frozenset({ACCOUNT_SELF, CATALOG_READ, CATALOG_REVIEW, SHARING_DECIDE}),
    "clerk": frozenset(
        {
            ACCOUNT_SELF,
            CATALOG_READ,
            CATALOG_EDIT,
            DATASET_LOAD,
            DATASET_PREVIEW,
            DATA_RECEIVE,
            SHARING_APPLY,
            SHARING_ANSWER,
        }
    ),
    "operator": frozenset({ACCOUNT_SELF, CATALOG_READ, DATA_RECEIVE, OPEN_APPLY}),
    "auditor": frozenset({ACCOUNT_SELF, CATALOG_READ, LEDGER_READ}),
    "regulator": frozenset({ACCOUNT_SELF, CATALOG_READ, LEDGER_READ}),
    "enterprise": frozenset({ACCOUNT_SELF, CATALOG_READ, DATA_RECEIVE, OPEN_APPLY}),
    "public": frozenset({ACCOUNT_SELF, DATA_RECEIVE, OPEN_APPLY}),
}

ORG_KINDS = {
    "data_authority": "数据管理部门",
    "agency": "公共管理和服务机构",
    "enterprise": "企业",
    "operator": "授权运营机构",
    "auditor": "专业审计机构",
    "regulator": "监管部门",
}

TIERS = {"province": "省级", "city": "市级", "county": "县级"}


def scopes_for(roles: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for role in roles:
        out |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(out)

# Quality governance (QUA-1, QUA-2, AGG-2, GOV-1): agencies keep their rules and fix
# their data; data authorities set deadlines, assess, find duplicates, count resources.
QUALITY_MANAGE = "quality:manage"
QUALITY_ASSESS = "quality:assess"
ALL_SCOPES = (*ALL_SCOPES, QUALITY_MANAGE, QUALITY_ASSESS)
ROLE_SCOPES["admin"] = frozenset(ALL_SCOPES)
ROLE_SCOPES["clerk"] = ROLE_SCOPES["clerk"] | {QUALITY_MANAGE}
ROLE_SCOPES["reviewer"] = ROLE_SCOPES["reviewer"] | {QUALITY_ASSESS}

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
OPERATION_AUTHORIZE = "operation:authorize"  # the data authority authorizes, supervises (OPR-1/9)
OPERATION_RUN = "operation:run"  # an operator queries in the sandbox, makes products (OPR-4)
PROCUREMENT_REQUEST = "procurement:request"  # an agency requests non-public data (TRD-9)
PROCUREMENT_REVIEW = "procurement:review"  # the data authority reviews the demand (TRD-9)
COMPLIANCE_MANAGE = "compliance:manage"  # an organization's incidents, assessments, obligations
AUDIT_CONDUCT = "audit:conduct"  # an auditor assesses the reference points (AUD-2..AUD-4)
COMPLIANCE_SUPERVISE = "compliance:supervise"  # regulators and the data authority see all
REGISTRATION_APPLY = "registration:apply"  # register data resources and products (REG-2)
REGISTRATION_REVIEW = "registration:review"  # the data authority reviews (REG-1, REG-3)
MARKET_SELL = "market:sell"  # list registered products, settle, answer disputes (TRD-3, TRD-6)
MARKET_BUY = "market:buy"  # order products, accept contracts, receive data (TRD-4, TRD-5)
MARKET_ADMIN = "market:admin"  # fee schedule, prohibited kinds, disputes, breaches (OPR-7, TRD-7)

PRIVACY_REQUEST = "privacy:request"  # a verified person: own consents and rights requests
PRIVACY_HANDLE = "privacy:handle"  # a provider answers rights requests on its entries (PIP-5)
PRIVACY_SUPERVISE = "privacy:supervise"  # the data authority watches the PIP-5 clock (GOV-2)
CONSENT_RECORD = "consent:record"  # an organization's systems record and query consent (PIP-3)
QUALITY_MANAGE = "quality:manage"  # an agency keeps its quality rules and fixes its data (QUA-1)
QUALITY_ASSESS = "quality:assess"  # the data authority assesses, finds duplicates (QUA-2, AGG-2)
OUTBOX_READ = "outbox:read"  # the administrator reads the embedded notifier's outbox
JOBS_READ = "jobs:read"  # the administrator watches the background jobs
IDENTITY_VERIFY = "identity:verify"  # an agency granted the register checks a person (核验)
INSTRUMENT_ISSUE = "instrument:issue"  # an organization issues and revokes its own records

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
    OPERATION_AUTHORIZE,
    OPERATION_RUN,
    PROCUREMENT_REQUEST,
    PROCUREMENT_REVIEW,
    COMPLIANCE_MANAGE,
    AUDIT_CONDUCT,
    COMPLIANCE_SUPERVISE,
    REGISTRATION_APPLY,
    REGISTRATION_REVIEW,
    MARKET_SELL,
    MARKET_BUY,
    MARKET_ADMIN,
    PRIVACY_REQUEST,
    PRIVACY_HANDLE,
    PRIVACY_SUPERVISE,
    CONSENT_RECORD,
    QUALITY_MANAGE,
    QUALITY_ASSESS,
    OUTBOX_READ,
    JOBS_READ,
    IDENTITY_VERIFY,
    INSTRUMENT_ISSUE,
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
    "reviewer": frozenset(
        {
            ACCOUNT_SELF,
            CATALOG_READ,
            CATALOG_REVIEW,
            SHARING_DECIDE,
            OPERATION_AUTHORIZE,
            PROCUREMENT_REVIEW,
            COMPLIANCE_SUPERVISE,
            REGISTRATION_REVIEW,
            PRIVACY_SUPERVISE,
            QUALITY_ASSESS,
            INSTRUMENT_ISSUE,
        }
    ),
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
            PROCUREMENT_REQUEST,
            COMPLIANCE_MANAGE,
            REGISTRATION_APPLY,
            MARKET_BUY,
            PRIVACY_HANDLE,
            CONSENT_RECORD,
            QUALITY_MANAGE,
            IDENTITY_VERIFY,
            INSTRUMENT_ISSUE,
        }
    ),
    "operator": frozenset(
        {
            ACCOUNT_SELF,
            CATALOG_READ,
            DATA_RECEIVE,
            OPEN_APPLY,
            OPERATION_RUN,
            COMPLIANCE_MANAGE,
            REGISTRATION_APPLY,
            MARKET_SELL,
            MARKET_BUY,
            CONSENT_RECORD,
            INSTRUMENT_ISSUE,
        }
    ),
    "auditor": frozenset({ACCOUNT_SELF, CATALOG_READ, LEDGER_READ, AUDIT_CONDUCT}),
    "regulator": frozenset({ACCOUNT_SELF, CATALOG_READ, LEDGER_READ, COMPLIANCE_SUPERVISE}),
    # CAT-8, AGG-6: an enterprise keeps its own catalog entries and loads data into them.
    "enterprise": frozenset(
        {
            ACCOUNT_SELF,
            CATALOG_READ,
            DATA_RECEIVE,
            OPEN_APPLY,
            CATALOG_EDIT,
            DATASET_LOAD,
            COMPLIANCE_MANAGE,
            REGISTRATION_APPLY,
            MARKET_SELL,
            MARKET_BUY,
            CONSENT_RECORD,
            INSTRUMENT_ISSUE,
        }
    ),
    "public": frozenset({ACCOUNT_SELF, DATA_RECEIVE, OPEN_APPLY, MARKET_BUY, PRIVACY_REQUEST}),
}

ORG_KINDS = {
    "data_authority": "数据管理部门",
    "agency": "公共管理和服务机构",
    "vertical": "垂直管理系统",  # registered at the province; its data goes down (AGG-7)
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

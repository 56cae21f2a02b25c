"""Demo and test seeds for compliance, through the real service functions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.compliance import assessments
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

PROVISION_ANSWERS = {
    "purpose": "依法履行职责，经共享、开放审批后向其他机构提供，目的明确、范围最小。",
    "impact": "身份证号等敏感个人信息泄露可能造成财产和人身风险。",
    "measures": "按授权提供所需字段，默认脱敏并嵌入水印，全程记入账本。",
    "recipients": "经审批的公共管理和服务机构及签订开放利用协议的用户。",
}


def seed_provider_assessments(session: Session, clerks: list[User]) -> None:
    """A current PIP-8 assessment covering provision to others, one per clerk's organization."""
    today = beijing_date(utcnow())
    for clerk in clerks:
        assessments.create(
            session,
            actor=clerk,
            activity="公共数据共享与开放中向他人提供个人信息",
            covers=["provision", "sensitive"],
            answers=PROVISION_ANSWERS,
            conclusion="风险可控，可在授权和脱敏条件下提供。",
            assessed_on=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=335),
        )

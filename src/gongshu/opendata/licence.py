"""The licence open data is released under and the open-use agreement's terms, as an
entry's page states them (issue 17 item 3; OPN-1, OPN-2, OPN-4, OPN-5).

The catalog keeps no licence per entry: every open entry is released under the one
licence the regulation gives the platform (free, after identity authentication and a
declared use; conditional data under a signed agreement), so it is stated here once.
"""

from __future__ import annotations

from dataclasses import dataclass

REGULATION = "《宁夏回族自治区数据条例》"


@dataclass(frozen=True)
class Licence:
    title: str
    basis: str
    terms: tuple[str, ...]


OPEN_LICENCE = Licence(
    title="公共数据开放许可（无条件开放）",
    basis=f"依据{REGULATION}第二十六条",
    terms=(
        "数据免费开放，经身份认证并声明用途后即可获取和使用。",
        "使用时注明数据来源：数据提供单位及公共数据开放平台。",
        "在声明的用途和场景内依法使用，不得损害国家利益、公共利益和他人合法权益。",
        "不得试图识别已脱敏的个人信息，不得将数据与其他数据关联以识别特定个人。",
        "发现数据有误或侵犯合法权益，可在本页提交投诉，数据提供单位核实后处理。",
    ),
)

AGREEMENT_LICENCE = Licence(
    title="公共数据开放利用协议（有条件开放）",
    basis=f"依据{REGULATION}第二十六条、第二十七条",
    terms=(
        "通过平台提交开放申请，写明数据用途、应用场景、安全保护措施、所需数据项和使用期限，"
        "由数据提供单位在十个工作日内答复。",
        "申请获同意后，须在平台签署开放利用协议，协议载明数据清单、用途、场景、安全保护措施、"
        "使用期限、期满处置和使用情况反馈。",
        "在协议范围内使用数据，不得超出用途和场景，不得转让。",
        "期限届满后删除或销毁所获数据及其副本，并在平台确认处置；按约定反馈数据使用情况。",
        f"超出协议使用的，由数据管理部门责令限期改正；逾期不改正或造成严重后果的，"
        f"处一万元以上十万元以下罚款（{REGULATION}第五十五条）。",
    ),
)


def licence_for(opening_attr: str) -> Licence:
    """The licence an open entry is released under, by its opening attribute."""
    return OPEN_LICENCE if opening_attr == "unconditional" else AGREEMENT_LICENCE

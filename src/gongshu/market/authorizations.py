"""Records the tradability check asks for (TRD-3, TRD-8, SEC-8): never typed text.

The registration's old text fields (``holder_authorization``, ``important_data_consent``)
stay readable as history but decide nothing. Instead:

- identifiable or sensitive personal information is tradable (short of the PIP-9
  anonymized mark) only if the rights holder of every source entry, i.e. its providing
  organization, issued a ``holder_authorization`` record for trading by the seller;
- important data only with the data authority's ``authority_consent_important`` record
  for trading the source entry by the seller (or by anyone).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.catalog.models import CatalogEntry
from gongshu.instruments import service as instruments

PURPOSE = "market"


def unauthorized_sources(
    session: Session, sources: list[CatalogEntry], seller_org_id: int
) -> list[CatalogEntry]:
    """The source entries without their rights holder's authorization on record to trade."""
    return [
        src
        for src in sources
        if instruments.find(
            session,
            "holder_authorization",
            entry_id=src.id,
            purpose=PURPOSE,
            recipient_org_id=seller_org_id,
        )
        is None
    ]


def important_consent(session: Session, src: CatalogEntry, seller_org_id: int) -> bool:
    """Whether the data authority's consent to trade ``src`` by the seller is on record."""
    return (
        instruments.find(
            session,
            "authority_consent_important",
            entry_id=src.id,
            purpose=PURPOSE,
            recipient_org_id=seller_org_id,
        )
        is not None
    )


def require_welfare_approval(session: Session, listing, buyer) -> None:  # noqa: ANN001
    """OPR-7: an operation product used free for public governance or welfare needs the
    data authority's ``welfare_approval`` on record for the product's data entry and the
    buyer's organization (or any recipient, as the authority wrote it). Fails closed."""
    from gongshu.market.errors import WelfareApprovalRequired

    if not listing.operation_product:
        return
    found = instruments.find(
        session,
        "welfare_approval",
        entry_id=listing.data_entry_id,
        purpose="welfare",
        recipient_org_id=buyer.org_id,
    )
    if found is None:
        raise WelfareApprovalRequired(
            "授权运营产品免费用于公共治理、公益事业，须有数据管理部门出具、在有效期内且适用于"
            "本单位的公益使用批准记录；目前没有，请先申请批准或按产业用途下单",
            detail={"listing": listing.id, "entry": listing.data_entry_id},
        )

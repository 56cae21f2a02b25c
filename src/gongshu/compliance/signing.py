"""The audit report signed with SM2 by its signers' own keys, then submitted (AUD-3, SEC-9).

Each signer (a user account) holds an SM2 key pair (``protect.sm2``, GB/T 32918): the
private key sealed with SM4-GCM under the instance key store's ``signer`` key, made
the first time the person signs. The report's content (engagement, every point's
result and findings, every evidence file's hash) is hashed with SM3; the audit lead
signs that hash, and for a professional institution its head too (PIA-A art. 10).
The first signature fixes the content: no point changes after it. The account is the
signer: the lead is the engagement's named lead in the conducting organization, the
head its named head; a typed name never signs. Once every signature is there the
report is signed; its submission is recorded with the hash and the signatures, and
``verify`` checks them again at any time.
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.compliance import audits
from gongshu.compliance.errors import AuditSigned, NotYourOrganization
from gongshu.compliance.models import AuditEngagement, AuditSignature, SignerKey
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.protect import sm2
from gongshu.protect.crypto import sm3, sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.protect.keystore import KeyStore
from gongshu.timeutil import utcnow

KEY_PURPOSE = "signer"
ROLE_LABELS = {"lead": "合规审计负责人", "head": "专业机构负责人"}


def _aad(user_id: int, key_id: str) -> bytes:
    return f"gongshu/signer/{user_id}/{key_id}".encode()


def signer_key(session: Session, user: User, keys: KeyStore) -> SignerKey:
    """The person's SM2 key pair, made (and its public half recorded) on first use."""
    row = session.scalar(select(SignerKey).where(SignerKey.user_id == user.id))
    if row is not None:
        return row
    private = sm2.generate_private_key()
    public = sm2.public_key(private)
    key_id, key = keys.current(KEY_PURPOSE)
    sealed = sm4_gcm_encrypt(key, private, _aad(user.id, key_id))
    row = SignerKey(
        user_id=user.id,
        public_key=public.hex(),
        fingerprint=sm2.fingerprint(public),
        sealed_key_id=key_id,
        sealed_private=base64.b64encode(sealed).decode(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        "signer.key_created",
        actor=user.actor,
        subject=f"user:{user.id}",
        payload={"algorithm": sm2.ALGORITHM, "public_key": row.public_key, "fp": row.fingerprint},
    )
    return row


def _private(row: SignerKey, keys: KeyStore) -> bytes:
    blob = base64.b64decode(row.sealed_private)
    return sm4_gcm_decrypt(keys.get(row.sealed_key_id), blob, _aad(row.user_id, row.sealed_key_id))


def report_content(session: Session, audit: AuditEngagement) -> dict:
    """What the signatures cover: the engagement, each point's result and findings, and
    each evidence file's hash."""
    points = audits.results(session, audit.id)
    return {
        "audit": audit.id,
        "subject_org": audit.subject_org_id,
        "trigger": audit.trigger,
        "conductor": audit.conductor,
        "institution_org": audit.institution_org_id,
        "lead": audit.lead_name,
        "head": audit.institution_head,
        "scope": audit.scope,
        "points": {str(p): [r.result, r.findings] for p, r in sorted(points.items())},
        "evidence": [[f.point, f.sha256] for f in audits.evidence_files(session, audit.id)],
    }


def report_digest(session: Session, audit: AuditEngagement) -> bytes:
    """SM3 of the canonical JSON of ``report_content``."""
    text = json.dumps(
        report_content(session, audit), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return sm3(text.encode())


def required_roles(audit: AuditEngagement) -> list[str]:
    return ["lead", "head"] if audit.conductor == "institution" else ["lead"]


def roles_for(audit: AuditEngagement, user: User) -> list[str]:
    """The roles ``user`` signs this report in (none when not a named signer)."""
    conductor_org = (
        audit.institution_org_id if audit.conductor == "institution" else audit.subject_org_id
    )
    if user.org_id != conductor_org:
        return []
    names = {"lead": audit.lead_name, "head": audit.institution_head}
    return [r for r in required_roles(audit) if names[r] and user.display_name == names[r]]


def signatures(session: Session, audit_id: int) -> list[AuditSignature]:
    return list(
        session.scalars(
            select(AuditSignature)
            .where(AuditSignature.audit_id == audit_id)
            .order_by(AuditSignature.id)
        )
    )


def sign_report(
    session: Session, audit_id: int, *, actor: User, role: str, keys: KeyStore
) -> AuditSignature:
    """``actor`` signs the report's SM3 with their SM2 key in ``role`` (lead or head)."""
    audit = audits.get(session, audit_id)
    if audit.signed_at is not None:
        raise AuditSigned("审计报告已签署完毕")
    if role not in ROLE_LABELS or role not in required_roles(audit):
        raise InvalidInput("签署身份应为合规审计负责人或专业机构负责人", detail={"field": "role"})
    if role not in roles_for(audit, actor):
        named = audit.lead_name if role == "lead" else audit.institution_head
        raise NotYourOrganization(
            f"只有实施审计的机构中的{ROLE_LABELS[role]}“{named}”本人可以签署此报告"
        )
    audits.check_signable(session, audit)
    done = signatures(session, audit.id)
    if any(s.role == role for s in done):
        raise InvalidInput(f"{ROLE_LABELS[role]}已签署，不能重复签署")
    digest = report_digest(session, audit)
    if audit.report_sm3 is not None and audit.report_sm3 != digest.hex():
        raise AuditSigned("报告内容与首位签署人签署的不一致，拒绝签署")
    key = signer_key(session, actor, keys)
    signature = sm2.sign(_private(key, keys), digest)
    item = AuditSignature(
        audit_id=audit.id,
        role=role,
        user_id=actor.id,
        signer_name=actor.display_name,
        report_sm3=digest.hex(),
        signature=base64.b64encode(signature).decode(),
        public_key=key.public_key,
        key_fingerprint=key.fingerprint,
    )
    audit.report_sm3 = digest.hex()
    session.add(item)
    session.flush()
    record(
        session,
        "audit.report_signed",
        actor=actor.actor,
        subject=f"audit:{audit.id}",
        payload={
            "role": role,
            "report_sm3": item.report_sm3,
            "algorithm": sm2.ALGORITHM,
            "signature": item.signature,
            "key_fingerprint": item.key_fingerprint,
        },
    )
    roles = {s.role for s in done} | {role}
    if set(required_roles(audit)) <= roles:
        audits.mark_signed(session, audit, actor=actor, names=_names(session, audit.id))
    return item


def _names(session: Session, audit_id: int) -> dict[str, str]:
    return {s.role: s.signer_name for s in signatures(session, audit_id)}


def verify(session: Session, audit_id: int) -> list[tuple[str, bool, str]]:
    """Each signature checked again: (role, ok, why). The report's content must still
    hash to what was signed and the key be the signer's registered one."""
    audit = audits.get(session, audit_id)
    digest = report_digest(session, audit)
    out = []
    for s in signatures(session, audit_id):
        registered = session.scalar(select(SignerKey).where(SignerKey.user_id == s.user_id))
        label = ROLE_LABELS[s.role]
        if s.report_sm3 != digest.hex():
            out.append((s.role, False, f"{label}签署后报告内容已被改动"))
        elif registered is None or registered.public_key != s.public_key:
            out.append((s.role, False, f"{label}的签名公钥不是其登记的公钥"))
        elif not sm2.verify(bytes.fromhex(s.public_key), digest, base64.b64decode(s.signature)):
            out.append((s.role, False, f"{label}的签名无效"))
        else:
            out.append((s.role, True, f"{label}{s.signer_name}的签名有效"))
    return out


def submit(session: Session, audit_id: int, *, actor: User) -> AuditEngagement:
    """Record the signed report's submission to the authority, with its hash and
    signatures, after checking them again."""
    audit = audits.get(session, audit_id)
    if actor.org_id not in (audit.subject_org_id, audit.institution_org_id):
        raise NotYourOrganization("只有被审计单位或实施审计的机构可以报送审计报告")
    if audit.signed_at is None:
        raise InvalidInput("审计报告尚未签署完毕，不能报送")
    if audit.submitted_at is not None:
        raise InvalidInput("审计报告已报送")
    checks = verify(session, audit_id)
    bad = [why for _role, ok, why in checks if not ok]
    if bad:
        raise InvalidInput("签名校验未通过，不能报送：" + "；".join(bad))
    audit.submitted_at, audit.submitted_by = utcnow(), actor.actor
    session.flush()
    record(
        session,
        "audit.submitted",
        actor=actor.actor,
        subject=f"audit:{audit.id}",
        payload={
            "report_sm3": audit.report_sm3,
            "ordered_by": audit.ordered_by_org_id,
            "signatures": [
                {"role": s.role, "key_fingerprint": s.key_fingerprint, "signature": s.signature}
                for s in signatures(session, audit_id)
            ],
        },
    )
    return audit

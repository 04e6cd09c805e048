"""Digitally signed files (firma digitale): a CAdES envelope (`.p7m`, DER or base64, possibly
signed twice) opened to the document it holds, and the signatures on it or on a signed PDF
(PAdES) verified with pyHanko against the trust roots in the settings. Runs in the sandbox.

The verdict is what the checks say, never a guess: `valid` is True only when the signature is
intact and its certificate leads to a trusted root at the time the file arrived; False when it
is broken, or its certificate fails against the roots given (untrusted, expired, revoked); None
when no trust roots are configured (then only its integrity is checked).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms, pem, x509

from parsers.sandbox import Rejected

MAX_ENVELOPES = 3  # a file signed twice is a p7m inside a p7m; deeper is hostile
_BASE64 = re.compile(rb"^[A-Za-z0-9+/=\s]+$")
# pyHanko logs every untrusted path with its traceback: the verdict says it once.
for _noisy in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Signature:
    signed_by: str | None
    valid: bool | None
    reason: str | None = None
    signed_at: str | None = None  # the signer's own claim (signingTime), ISO 8601

    def as_facts(self) -> dict[str, Any]:
        return {
            "signed_by": self.signed_by,
            "valid": self.valid,
            "reason": self.reason,
            "signed_at": self.signed_at,
        }


def _der(data: bytes) -> bytes | None:
    """DER as it comes, or decoded from base64, with or without PEM armour."""
    if pem.detect(data):
        try:
            return bytes(pem.unarmor(data)[2])
        except ValueError:
            return None
    if data[:1] == b"\x30":
        return data
    if _BASE64.match(data[:4096]):
        try:
            return base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _signed_data(data: bytes) -> cms.SignedData | None:
    """The CMS signed data in the bytes, or None when they are something else."""
    der = _der(data)
    if der is None:
        return None
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            return None
        signed = info["content"]
        signed["signer_infos"].native  # parse now: a damaged envelope fails here  # noqa: B018
    except Exception:  # hostile DER (deep nesting, bad lengths): not an envelope we can open
        return None
    return signed if isinstance(signed, cms.SignedData) else None


# ContentInfo: a SEQUENCE whose first element is the OID of signed data (1.2.840.113549.1.7.2).
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")
_SNIFFED = 96  # characters of base64 decoded to look at the start of an envelope


def looks_signed(data: bytes) -> bool:
    """A CMS signed-data envelope by its first bytes alone, in any of its encodings: cheap,
    and safe outside the sandbox (the whole envelope is parsed inside it)."""
    head = data[:4096]
    if pem.detect(head):
        head = re.sub(rb"-----[A-Z0-9 ]+-----", b"", head)
    if head[:1] != b"\x30":
        compact = b"".join(head.split())[:_SNIFFED]
        try:
            head = base64.b64decode(compact[: len(compact) // 4 * 4], validate=True)
        except (binascii.Error, ValueError):
            return False
    return head[:1] == b"\x30" and _SIGNED_DATA_OID in head[:24]


def trust_roots(bundle: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle (or one DER certificate)."""
    if not bundle.strip():
        return []
    if pem.detect(bundle):
        return [x509.Certificate.load(der) for _, _, der in pem.unarmor(bundle, multiple=True)]
    return [x509.Certificate.load(bundle)]


def _subject(certificate: x509.Certificate) -> str | None:
    """The signer as a person reads it: given name and surname, else the common name."""
    names = certificate.subject.native
    person = " ".join(filter(None, (names.get("given_name"), names.get("surname"))))
    return person or names.get("common_name")


def _context(roots: list[x509.Certificate], moment: datetime | None) -> Any:
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(trust_roots=roots, moment=moment, allow_fetching=False)


def _verdict(status: Any, configured: bool) -> tuple[bool | None, str | None]:
    if not (status.intact and status.valid):
        return False, "the signature does not match the document: altered after signing"
    if not configured:
        return None, "no trust roots configured: the signature is intact, its signer unverified"
    if status.revoked:
        return False, "the signer's certificate was revoked"
    if not status.trusted:
        problem = status.trust_problem_indic.name if status.trust_problem_indic else ""
        said = _TRUST_PROBLEMS.get(problem, problem.lower().replace("_", " ") or "not trusted")
        return False, f"the signer's certificate {said}"
    return True, None


# pyHanko's AdES sub-indications, as ops read them.
_TRUST_PROBLEMS = {
    "OUT_OF_BOUNDS_NO_POE": "had expired (or was not yet valid) when the file arrived",
    "OUT_OF_BOUNDS_NOT_REVOKED": "had expired (or was not yet valid) when the file arrived",
    "CHAIN_CONSTRAINTS_FAILURE": "does not lead to a trusted certification authority",
    "NO_CERTIFICATE_CHAIN_FOUND": "does not lead to a trusted certification authority",
    "REVOKED_NO_POE": "was revoked",
    "REVOKED_CA_NO_POE": "was issued by a revoked certification authority",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "uses an algorithm no longer accepted",
}


def _embedded(signed: cms.SignedData) -> list[x509.Certificate]:
    return [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]


def _check(
    signed: cms.SignedData, roots: list[x509.Certificate], moment: datetime | None
) -> list[Signature]:
    """Each signer on its own (pyHanko checks one at a time). Without configured roots the
    envelope's own certificates stand in, so that the integrity is still checked."""
    from pyhanko.sign.validation.generic_cms import async_validate_cms_signature

    found = []
    for signer in signed["signer_infos"]:
        one = cms.SignedData(
            {
                "version": signed["version"],
                "digest_algorithms": signed["digest_algorithms"],
                "encap_content_info": signed["encap_content_info"],
                "certificates": signed["certificates"],
                "signer_infos": [signer],
            }
        )
        claimed = next(
            (
                attr["values"][0].native
                for attr in signer["signed_attrs"] or []
                if attr["type"].native == "signing_time"
            ),
            None,
        )
        context = _context(roots or _embedded(signed), moment)
        try:
            status = asyncio.run(async_validate_cms_signature(one, validation_context=context))
            valid, reason = _verdict(status, bool(roots))
            by = _subject(status.signing_cert)
        except Exception as exc:  # a hostile envelope's signature: a verdict, never a crash
            valid, reason = False, f"the signature cannot be checked ({type(exc).__name__})"
            by = next(iter(_subject(c) for c in _embedded(signed)), None)
        at = claimed.isoformat() if isinstance(claimed, datetime) else None
        found.append(Signature(by, valid, reason, at))
    return found


def open_signed(
    data: bytes, roots_pem: bytes, moment: datetime | None
) -> tuple[bytes, list[Signature]]:
    """The document inside the envelope(s), and every signature met on the way in."""
    roots = trust_roots(roots_pem)
    signatures: list[Signature] = []
    for _ in range(MAX_ENVELOPES):
        signed = _signed_data(data)
        if signed is None:
            if signatures:
                return data, signatures
            raise Rejected("damaged signed file (.p7m): it cannot be opened")
        content = signed["encap_content_info"]["content"]
        if content.native is None:
            raise Rejected("a detached signature (.p7s) without the document it signs")
        signatures += _check(signed, roots, moment)
        data = bytes(content.native)
    if looks_signed(data):
        raise Rejected(f"signed more than {MAX_ENVELOPES} times over: not opened")
    return data, signatures


def pdf_signatures(pdf: bytes, roots_pem: bytes, moment: datetime | None) -> list[Signature]:
    """The signatures embedded in a PDF (PAdES); none for an unsigned one."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

    roots = trust_roots(roots_pem)
    try:
        embedded = list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
    except Exception:  # not readable as pyHanko wants it: pdfplumber's reading decides
        return []
    found = []
    for signature in embedded:
        try:
            certificates = [signature.signer_cert, *signature.other_embedded_certs]
            context = _context(roots or certificates, moment)
            status = asyncio.run(async_validate_pdf_signature(signature, context))
            valid, reason = _verdict(status, bool(roots))
            if valid is not False and status.docmdp_ok is False:
                valid, reason = False, "the PDF was changed after it was signed"
            by = _subject(status.signing_cert)
        except Exception as exc:  # a hostile PDF's signature: a verdict, never a crash
            valid, reason = False, f"the signature cannot be checked ({type(exc).__name__})"
            by = None
        claimed = signature.self_reported_timestamp
        found.append(Signature(by, valid, reason, claimed.isoformat() if claimed else None))
    return found

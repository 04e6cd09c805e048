"""Digitally signed contracts (firma digitale) as Italian customers send them, and a test PKI.

CAdES files (`contratto.pdf.p7m`): the PDF enveloped in a CMS SignedData (attached content,
DER, or base64 with or without PEM lines), signed once, twice in parallel (one SignedData, two
SignerInfos) or twice nested (a p7m inside a p7m). PAdES: a PDF carrying its own signature in an
incremental update. pyHanko does the signing (CAdES-BES signed attributes: content-type,
message-digest, signing-time, signing-certificate-v2).

The test PKI imitates an Italian QTSP: a root, an intermediate, and signer certificates shaped
like qualified ones. Keys come from a seeded prime search, so certificates and signatures are
the same bytes on every run (RSA PKCS#1 v1.5 signing is deterministic) and the root can be
configured once as a trust anchor; `pki()` is cached, so a process builds it once (~1-2 s).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from asn1crypto import cms, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore
from stdnum import luhn

from tests.docgen.messages import ROME
from tests.docgen.orders import make_tax_code

# The contract says "Roma, 21/11/2026"; the signature is put on it that morning.
SIGNING_TIME = datetime(2026, 11, 21, 10, 30, 5, tzinfo=ROME)
ENCODINGS = ("der", "base64", "pem")
QTSP_NAME = "Test Trust Services S.p.A."
QTSP_VAT = "0123456789" + luhn.calc_check_digit("0123456789")
CPS_URL = "https://ca.test-qtsp.example/cps"
CRL_URL = "http://crl.test-qtsp.example/qualified-signature-ca-1.crl"
OCSP_URL = "http://ocsp.test-qtsp.example"
CA_ISSUERS_URL = "http://ca.test-qtsp.example/qualified-signature-ca-1.crt"

# signer key -> (surname, given name, birth date, sex, expect)
_PEOPLE: dict[str, tuple[str, str, str, str, str]] = {
    "rossi": ("ROSSI", "MARIO", "1980-01-01", "M", "valid"),
    "esposito": ("ESPOSITO", "GIULIA", "1985-03-12", "F", "valid"),
    "expired": ("VERDI", "GIUSEPPE", "1962-07-30", "M", "expired"),
    "selfsigned": ("BIANCHI", "LUCA", "1990-10-05", "M", "untrusted"),
}
SIGNERS: tuple[str, ...] = tuple(_PEOPLE)


# --- deterministic RSA keys -----------------------------------------------------------------

_SIEVE_PRIMES = [
    n for n in range(3, 1 << 15, 2) if all(n % d for d in range(3, int(n**0.5) + 1, 2))
]
_WINDOW = 4096  # odd numbers sieved at a time


def _miller_rabin(n: int, base: int) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    x = pow(base, d, n)
    if x in (1, n - 1):
        return True
    for _ in range(s - 1):
        x = pow(x, 2, n)
        if x == n - 1:
            return True
    return False


def _prime(rng: random.Random, bits: int) -> int:
    """A random prime found by sieving a window of odd numbers, then Miller-Rabin: a pure
    Python search is slow, so the sieve keeps the modular exponentiations few."""
    while True:
        # top two bits set, so p * q has exactly 2 * bits bits
        start = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        composite = bytearray(_WINDOW)  # index i stands for start + 2 i
        for p in _SIEVE_PRIMES:
            first = (p - start % p) * ((p + 1) // 2) % p
            composite[first::p] = b"\x01" * len(range(first, _WINDOW, p))
        for i in range(_WINDOW):
            n = start + 2 * i
            if composite[i] or n % 65537 == 1:  # p - 1 must be prime to e
                continue
            if _miller_rabin(n, 2) and all(
                _miller_rabin(n, rng.randrange(3, n - 2)) for _ in range(6)
            ):
                return n


def _rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key from a seed: a test PKI that is the same on every run, unlike generate_key."""
    rng = random.Random(f"pecflow-test-pki|{seed}|{bits}")
    e = 65537
    p = _prime(rng, bits // 2)
    q = _prime(rng, bits // 2)
    while q == p:
        q = _prime(rng, bits // 2)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)


# --- certificates ---------------------------------------------------------------------------


def _der_len(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(arc) for arc in dotted.split("."))
    body = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _qc_statements() -> bytes:
    """ETSI EN 319 412-5 QCStatements of an Italian qualified signature certificate."""
    pds = [
        _seq(_tlv(0x16, f"https://ca.test-qtsp.example/pds/pds_{lang}.pdf".encode()),
             _tlv(0x13, lang.encode()))
        for lang in ("it", "en")
    ]  # fmt: skip
    return _seq(
        _seq(_oid("0.4.0.1862.1.1")),  # QcCompliance
        _seq(_oid("0.4.0.1862.1.3"), _tlv(0x02, bytes([20]))),  # QcRetentionPeriod: 20 years
        _seq(_oid("0.4.0.1862.1.4")),  # QcSSCD: the key lives in a qualified device
        _seq(_oid("0.4.0.1862.1.5"), _seq(*pds)),  # QcPDS
        _seq(_oid("0.4.0.1862.1.6"), _seq(_oid("0.4.0.1862.1.6.1"))),  # QcType: esign
    )


def _serial(seed: str) -> int:
    return int(hashlib.sha256(f"serial|{seed}".encode()).hexdigest()[:30], 16) | (1 << 100)


def _qtsp_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, QTSP_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"VATIT-{QTSP_VAT}"),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME, "Qualified Trust Service Provider"
            ),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _signer_name(surname: str, given: str, tax_code: str) -> x509.Name:
    """The subject Italian QTSPs write: CN "SURNAME NAME", serialNumber TINIT-<codice fiscale>."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.GIVEN_NAME, given),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"TINIT-{tax_code}"),
            x509.NameAttribute(NameOID.DN_QUALIFIER, str(_serial(tax_code))[:11]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{surname} {given}"),
        ]
    )


def _ca_cert(
    name: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer_name: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    valid: tuple[datetime, datetime],
    path_length: int,
) -> x509.Certificate:
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(_serial(name.rfc4514_string()))
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _signer_cert(
    name: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer_name: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    valid: tuple[datetime, datetime],
) -> x509.Certificate:
    """A qualified signature certificate: nonRepudiation only, QC statements, AgID policy."""
    public = key.public_key()
    policies = x509.CertificatePolicies(
        [
            x509.PolicyInformation(ObjectIdentifier("1.3.6.1.4.1.99999.1.1.1"), [CPS_URL]),
            x509.PolicyInformation(ObjectIdentifier("0.4.0.194112.1.2"), None),  # QCP-n-qscd
            x509.PolicyInformation(
                ObjectIdentifier("1.3.76.16.6"),  # AgID: certificato qualificato
                [x509.UserNotice(None, "agIDcert")],
            ),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(_serial(name.rfc4514_string()))
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(policies, critical=False)
        .add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.5.5.7.1.3"), _qc_statements()),
            critical=False,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(CRL_URL)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(OCSP_URL),
                    ),
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(CA_ISSUERS_URL),
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class SignerIdentity:
    """One signer: certificate, key, the CA certificates a p7m carries, and what a verifier
    must conclude (`valid`, `expired`, `untrusted`: not under the test root)."""

    key_name: str
    common_name: str
    tax_code: str
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]
    expect: str


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    intermediate: x509.Certificate
    signers: dict[str, SignerIdentity]

    @property
    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    @property
    def intermediate_pem(self) -> bytes:
        return self.intermediate.public_bytes(serialization.Encoding.PEM)


def _utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@cache
def pki() -> Pki:
    """The test PKI, built once per process: root, intermediate, the signers of SIGNERS."""
    root_name = _qtsp_name("Test Qualified CA")
    root_key = _rsa_key("root")
    root = _ca_cert(
        root_name, root_key, root_name, root_key, (_utc(2020, 1, 1), _utc(2040, 12, 31)), 1
    )
    ca_name = _qtsp_name("Test Qualified Signature CA 1")
    ca_key = _rsa_key("intermediate")
    intermediate = _ca_cert(
        ca_name, ca_key, root_name, root_key, (_utc(2020, 1, 1), _utc(2038, 12, 31)), 0
    )
    # Real qualified certificates last three years; these are long-lived so that the generated
    # set keeps verifying for years (the expired one expired before the signing time).
    validity = {
        "valid": (_utc(2025, 6, 16), _utc(2034, 6, 16)),
        "expired": (_utc(2020, 5, 4), _utc(2023, 5, 4)),
        "untrusted": (_utc(2025, 6, 16), _utc(2034, 6, 16)),
    }
    identities = {}
    for key_name, (surname, given, born, sex, expect) in _PEOPLE.items():
        tax_code = make_tax_code(surname, given, born, sex)
        key = _rsa_key(key_name)
        name = _signer_name(surname, given, tax_code)
        if expect == "untrusted":  # signs its own certificate, under no CA
            cert = _signer_cert(name, key, name, key, validity[expect])
            chain: tuple[x509.Certificate, ...] = ()
        else:
            cert = _signer_cert(name, key, ca_name, ca_key, validity[expect])
            chain = (intermediate,)
        identities[key_name] = SignerIdentity(
            key_name, f"{surname} {given}", tax_code, cert, key, chain, expect
        )
    return Pki(root, intermediate, identities)


def root_pem() -> bytes:
    """The test root CA as PEM: the trust anchor a verifier of these signatures configures."""
    return pki().root_pem


# --- CAdES ----------------------------------------------------------------------------------


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _pyhanko_signer(signer: str, include_chain: bool = True) -> signers.SimpleSigner:
    identity = pki().signers[signer]
    key_der = identity.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    chain = [_asn1_cert(c) for c in identity.chain] if include_chain else []
    return signers.SimpleSigner(
        signing_cert=_asn1_cert(identity.certificate),
        signing_key=keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(chain),
        embed_roots=False,
    )


def _sign(
    content: bytes, signer: str, detached: bool, signing_time: datetime, include_chain: bool
) -> cms.ContentInfo:
    """CAdES-BES with pyHanko: content-type, message-digest, signing-time, signing-cert-v2."""
    coroutine = _pyhanko_signer(signer, include_chain).async_sign_general_data(
        content,
        "sha256",
        detached=detached,
        use_cades=True,
        signed_attr_settings=PdfCMSSignedAttributes(signing_time=signing_time),
    )
    return asyncio.run(coroutine)


def _encode(der: bytes, encoding: str) -> bytes:
    """DER as is; `base64` as some Windows signing tools save it (76-column lines, CRLF, no
    armour); `pem` with PKCS7 armour lines as OpenSSL writes it."""
    if encoding == "der":
        return der
    text = base64.b64encode(der).decode("ascii")
    if encoding == "base64":
        return "".join(text[i : i + 76] + "\r\n" for i in range(0, len(text), 76)).encode()
    if encoding == "pem":
        body = "".join(text[i : i + 64] + "\n" for i in range(0, len(text), 64))
        return f"-----BEGIN PKCS7-----\n{body}-----END PKCS7-----\n".encode()
    raise ValueError(f"unknown encoding {encoding!r}: {', '.join(ENCODINGS)}")


def p7m(
    content: bytes,
    signer: str = "rossi",
    encoding: str = "der",
    detached: bool = False,
    *,
    signing_time: datetime = SIGNING_TIME,
    include_chain: bool = True,
) -> bytes:
    """`content` signed CAdES-BES: a `.p7m` (attached) or, with `detached`, a `.p7s`.

    The SignedData carries the signer's certificate and, with `include_chain`, the
    intermediate CA (never the root: the verifier must trust it).
    """
    info = _sign(content, signer, detached, signing_time, include_chain)
    return _encode(info.dump(), encoding)


def _merge(first: cms.ContentInfo, second: cms.ContentInfo) -> cms.ContentInfo:
    """One SignedData with both SignerInfos over the same content (parallel signatures)."""
    signed = first["content"].copy()
    other = second["content"]
    certificates = list(signed["certificates"])
    seen = {c.dump() for c in certificates}
    certificates += [c for c in other["certificates"] if c.dump() not in seen]
    signed["certificates"] = cms.CertificateSet([c.copy() for c in certificates])
    infos = [*signed["signer_infos"], *other["signer_infos"]]
    signed["signer_infos"] = cms.SignerInfos([s.copy() for s in infos])
    return cms.ContentInfo({"content_type": "signed_data", "content": signed})


def p7m_twice(
    content: bytes,
    nested: bool = True,
    people: tuple[str, str] = ("rossi", "esposito"),
    encoding: str = "der",
) -> bytes:
    """Signed by two people. `nested`: the second signs the first's p7m (the file becomes
    `contratto.pdf.p7m.p7m`); otherwise one SignedData with two SignerInfos (firme parallele)."""
    first, second = people
    if nested:
        return p7m(p7m(content, first), second, encoding)
    merged = _merge(
        _sign(content, first, False, SIGNING_TIME, True),
        _sign(content, second, False, SIGNING_TIME.replace(minute=47), True),
    )
    return _encode(merged.dump(), encoding)


def tampered_p7m(content: bytes, altered: bytes | None = None, signer: str = "rossi") -> bytes:
    """A well-formed p7m whose content was changed after signing: the message-digest attribute
    no longer matches. By default the PDF's /Author is rewritten in place (same length, so the
    PDF still opens); pass `altered` to swap in other bytes (e.g. another contract)."""
    if altered is None:
        altered = content.replace(b"/Author (anonymous)", b"/Author (manomesso)", 1)
        if altered == content:  # not a reportlab PDF: change one byte in the middle
            middle = len(content) // 2
            altered = content[:middle] + bytes([content[middle] ^ 0x20]) + content[middle + 1 :]
    info = _sign(content, signer, False, SIGNING_TIME, True)
    signed = info["content"].copy()
    signed["encap_content_info"] = {"content_type": "data", "content": altered}
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def p7m_content(data: bytes) -> bytes:
    """What a p7m envelops (one level), whichever encoding: a helper for tests."""
    stripped = data.strip()
    if not stripped.startswith(b"\x30"):
        lines = [line for line in stripped.splitlines() if not line.startswith(b"-----")]
        data = base64.b64decode(b"".join(lines))
    return bytes(cms.ContentInfo.load(data)["content"]["encap_content_info"]["content"].native)


# --- PAdES ----------------------------------------------------------------------------------


@dataclass
class _FixedClockMetadata(DocumentMetadata):
    """pyHanko stamps /ModDate with the wall clock on every write; pin it for stable bytes."""

    fixed: datetime | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "last_modified" and value == "now" and getattr(self, "fixed", None):
            value = self.fixed
        super().__setattr__(name, value)


class _FixedClockPdfSigner(signers.PdfSigner):
    """PdfSigner whose signing session uses a given time for /M and the appearance."""

    def __init__(self, *args: Any, system_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._system_time = system_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._system_time
        return session


def pades_pdf(
    pdf: bytes,
    signer: str = "rossi",
    *,
    field_name: str = "Firma1",
    location: str | None = "Roma",
    reason: str | None = None,
    signing_time: datetime = SIGNING_TIME,
) -> bytes:
    """The PDF signed PAdES-B (ETSI.CAdES.detached, invisible field) in an incremental update,
    as ArubaSign/Dike/Firma OK! produce it; the same bytes for the same input."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # pyHanko draws the second /ID and /ModDate from os.urandom and the clock: pin both.
    second_id = hashlib.sha256(b"pades|" + pdf + signer.encode()).digest()[:16]
    writer._document_id = generic.ArrayObject(
        [writer._document_id[0], generic.ByteStringObject(second_id)]
    )
    writer._meta = _FixedClockMetadata(fixed=signing_time)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        location=location,
        reason=reason,
    )
    pdf_signer = _FixedClockPdfSigner(
        metadata, signer=_pyhanko_signer(signer), system_time=signing_time
    )
    output = pdf_signer.sign_pdf(writer)
    return bytes(output.getvalue())

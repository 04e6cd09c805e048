"""Creating the mailbox at the provider: the interface, and its two implementations.

`manual`: ops created the box at the provider and tell pecflow its user-id (and, if they have
it, the password). `local`: pecflow makes them itself, for tests and self-hosting; it keeps
only a scrypt hash of the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Settings
from pipeline.store.models import Order, ProvisionedMailbox

# No look-alikes (0/O, 1/l/I): the customer may type it from a printout.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
_SYMBOLS = "-_.!?"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class ProvisioningError(Exception):
    """The provider refused to create the mailbox; the order stays ready."""


@dataclass(frozen=True)
class Credentials:
    user_id: str
    password: str | None = None  # None: the provider sends it to the customer itself

    def __repr__(self) -> str:  # never a password in a log or a traceback
        return f"Credentials(user_id={self.user_id!r}, password={'***' if self.password else None})"


class Provisioner(Protocol):
    def create(self, session: Session, order: Order, now: datetime) -> Credentials: ...


@dataclass(frozen=True)
class ManualProvisioner:
    """Ops already created the mailbox at the provider."""

    user_id: str
    password: str | None = None

    def create(self, session: Session, order: Order, now: datetime) -> Credentials:
        return Credentials(self.user_id, self.password)


@dataclass(frozen=True)
class LocalProvisioner:
    """pecflow is the provider: a user-id by the configured pattern, a one-time password."""

    pattern: str
    password_length: int

    def create(self, session: Session, order: Order, now: datetime) -> Credentials:
        user_id = user_id_for(self.pattern, order)
        taken = session.scalar(
            select(ProvisionedMailbox.order_id).where(ProvisionedMailbox.user_id == user_id)
        )
        if taken is not None and taken != order.id:
            raise ProvisioningError(f"user-id {user_id} is already taken by another mailbox")
        password = one_time_password(self.password_length)
        session.merge(
            ProvisionedMailbox(
                mailbox=order.mailbox.lower(),
                order_id=order.id,
                user_id=user_id,
                password_hash=hash_password(password),
                created_at=now,
            )
        )
        return Credentials(user_id, password)


def provisioner_for(settings: Settings) -> LocalProvisioner | None:
    """The automatic provisioner, or None when ops activate by hand."""
    fulfilment = settings.fulfilment
    if fulfilment.provisioner != "local":
        return None
    return LocalProvisioner(fulfilment.user_id_pattern, fulfilment.password_length)


def user_id_for(pattern: str, order: Order) -> str:
    return pattern.format(
        order_id=order.id, code=order.code, local=order.mailbox.partition("@")[0].lower()
    )


def one_time_password(length: int) -> str:
    """Letters, digits and one symbol at least, as PEC providers require."""
    while True:
        chars = [secrets.choice(_ALPHABET) for _ in range(length - 1)]
        chars.insert(secrets.randbelow(length), secrets.choice(_SYMBOLS))
        password = "".join(chars)
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    encode = base64.b64encode
    return f"scrypt${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    scheme, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    again = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    return hmac.compare_digest(again, base64.b64decode(digest))

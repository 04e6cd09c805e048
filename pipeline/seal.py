"""Sealing the e-mails that carry a password: encrypted in the outbox, wiped once sent.

The key is a Fernet key in a file readable by the service only, made on first use. A database
dump or backup therefore never holds a password in clear; the key file stays on the host.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.private_files import private_draft

# cryptography loads when an e-mail is sealed or opened, not with every run that may send one.
if TYPE_CHECKING:
    from cryptography.fernet import Fernet

WIPED = "(contenuto rimosso dopo l'invio: conteneva una password)"


class SealError(Exception):
    """A sealed e-mail whose key is missing or different: it cannot be sent as it is."""


def private_key(path: Path) -> bytes:
    """A random key (a Fernet key) in a file readable by the service only, made on first use;
    also the web console's cookie-signing key."""
    from cryptography.fernet import Fernet

    if not path.exists():
        draft = private_draft(path, Fernet.generate_key())
        try:
            os.link(draft, path)  # atomic: a second worker's key never replaces the first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes().strip()


def _fernet(key_file: Path) -> Fernet:
    from cryptography.fernet import Fernet

    return Fernet(private_key(key_file))


def seal(text: str, key_file: Path) -> str:
    return _fernet(key_file).encrypt(text.encode()).decode()


def unseal(token: str, key_file: Path) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(key_file).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SealError(
            f"cannot open a sealed e-mail with {key_file}: the key file changed or was lost"
        ) from exc

"""Who may use the web console: `pecflow users add|list|disable|passwd` and the console's log in
call these. Names are kept as typed, compared without case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.passwords import hash_password, needs_rehash, password_problem, verify
from pipeline.rules.statuses import Role
from pipeline.services.errors import NotFound, Refused
from pipeline.store.db import Store
from pipeline.store.models import User

NAME_MAX = 64


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    role: Role
    active: bool
    stamp: str  # changes with the password or the account: a session made before is over

    @property
    def may_act(self) -> bool:
        return self.role == Role.OPERATOR


def _view(user: User) -> UserView:
    return UserView(
        user.id, user.name, Role(user.role), user.active, user.password_changed_at.isoformat()
    )


def _named(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.name) == name.strip().lower()))


def _checked(password: str) -> str:
    problem = password_problem(password)
    if problem:
        raise Refused(problem)
    return hash_password(password)


def add_user(store: Store, name: str, password: str, role: str, now: datetime) -> UserView:
    name = name.strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise Refused(f"a user name is 1 to {NAME_MAX} printable characters")
    if role not in set(Role):
        raise Refused(f"a role is one of: {', '.join(Role)}")
    hashed = _checked(password)
    with store.unit() as session:
        if _named(session, name) is not None:
            raise Refused(f"there is already a user {name}")
        user = User(
            name=name,
            password_hash=hashed,
            role=role,
            active=True,
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        session.flush()
        return _view(user)


def list_users(store: Store) -> list[UserView]:
    with store.unit() as session:
        return [_view(u) for u in session.scalars(select(User).order_by(User.name))]


def disable_user(store: Store, name: str, now: datetime) -> UserView:
    """The account can no longer log in, and its open sessions end at their next request."""
    with store.unit() as session:
        user = _named(session, name)
        if user is None:
            raise NotFound(f"no user {name}")
        user.active = False
        user.password_changed_at = now
        return _view(user)


def set_password(store: Store, name: str, password: str, now: datetime) -> UserView:
    """A new password (and the account active again); sessions made before it end."""
    hashed = _checked(password)
    with store.unit() as session:
        user = _named(session, name)
        if user is None:
            raise NotFound(f"no user {name}")
        user.password_hash, user.active, user.password_changed_at = hashed, True, now
        return _view(user)


def log_in(store: Store, name: str, password: str) -> UserView | None:
    """The user, if this name and password are an active account's; None whatever is wrong."""
    with store.unit() as session:
        user = _named(session, name)
        if not verify(user.password_hash if user else None, password) or user is None:
            return None
        if not user.active:
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return _view(user)


def session_user(store: Store, user_id: int, stamp: str) -> UserView | None:
    """The user a session names, while that session is still good."""
    with store.unit() as session:
        user = session.get(User, user_id)
        if user is None or not user.active or _view(user).stamp != stamp:
            return None
        return _view(user)

"""Passwords: the strength a new one needs, hashing (werkzeug's default, scrypt), and checking one in the
same time whether or not the account exists.

A new password has MIN_LENGTH to MAX_LENGTH characters, is not a common password (market/common_passwords.txt,
also with digits or symbols around it, in any case, spaces ignored) and does not contain the account's email
or name. No service stores a password itself: only `hash_password`'s result goes into `User.password_hash`.
"""
from __future__ import annotations

import functools
import re
import secrets
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 200                    # hashing is slow on purpose: no one sends a megabyte to hash
COMMON_FILE = Path(__file__).resolve().parents[1] / "common_passwords.txt"
# What people put around a common word: "Password2024!", "!qwerty123"
_AROUND = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$", re.DOTALL)


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def weakness(password: str, email: str = "", name: str = "") -> str | None:
    """Why `password` is too weak for the account (email, name), as a message for people; None if it will do."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    lowered = password.lower()
    squeezed = "".join(lowered.split())
    common = common_passwords()
    if {lowered, squeezed} & common or {_core(lowered), _core(squeezed)} & common:
        return "too common: it is on the lists of passwords tried first; choose another"
    email = (email or "").strip().lower()
    name = (name or "").strip().lower()
    local = email.partition("@")[0]
    personal = {email, local, name, "".join(name.split()), *re.split(r"[\W_]+", local), *re.split(r"[\W_]+", name)}
    if any(len(part) >= 4 and (part in lowered or part in squeezed) for part in personal):
        return "must not contain your email or name"
    return None


def _core(text: str) -> str:
    match = _AROUND.fullmatch(text)
    return match.group(1) if match else text


def require_strong(password: str, email: str = "", name: str = "", field: str = "password") -> None:
    """InvalidInput on `field` when the password is too weak."""
    problem = weakness(password or "", email, name)
    if problem:
        raise InvalidInput({field: problem})


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, made as real ones are: checked when there is no account, so that an
    unknown email takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed; with no hash (no account, or none set) a dummy is checked all
    the same, so the answer takes the same time."""
    if not password_hash:
        check_password_hash(_dummy_hash(), password or "")
        return False
    return check_password_hash(password_hash, password or "")

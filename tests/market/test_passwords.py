"""The strength a new password needs (market.services.passwords)."""
from __future__ import annotations

import pytest

from market.services.passwords import MIN_LENGTH, common_passwords, weakness


@pytest.mark.parametrize("password", ["correct horse", "long enough", "s3cret-pass", "browser pass",
                                      "Tr0ub4dor&3 but longer"])
def test_good_passwords_pass(password):
    assert weakness(password, "f@example.org", "Fay") is None


@pytest.mark.parametrize("password, why", [
    ("short", f"at least {MIN_LENGTH} characters"), ("x" * 201, "at most 200 characters"),
    ("password123", "too common"), ("Password2024!", "too common"), ("!!QWERTYUIOP", "too common"),
    ("1234567890", "too common"), ("iloveyou 123", "too common"), ("correct horse battery staple", "too common"),
    ("fay.lovelace@example.org", "your email or name"), ("my name is Lovelace", "your email or name"),
    ("Ada Lovelace 1815", "your email or name"),
])
def test_weak_passwords_are_refused_with_the_reason(password, why):
    assert why in weakness(password, "Fay.Lovelace@Example.org", "Ada Lovelace")


def test_the_list_is_lower_case_and_big_enough():
    words = common_passwords()
    assert len(words) > 500 and all(w == w.lower() and w.strip() == w for w in words)

"""API fixtures: accounts with personal API tokens, each as an `Api` client (the app, its accounts and
an open round come from the web fixtures, tests/web_fixtures.py)."""
from __future__ import annotations

import pytest
from flask import Flask

from tests.api.helpers import Api, Users
from tests.web_fixtures import Accounts


@pytest.fixture
def users(app: Flask, accounts: Accounts) -> Users:
    return Users(app, accounts)


@pytest.fixture
def anonymous(app: Flask) -> Api:
    return Api(app, None)


@pytest.fixture
def funder(users: Users) -> Api:
    return users("funder@example.org", "funder")


@pytest.fixture
def actor(users: Users) -> Api:
    return users("actor@example.org", "actor")


@pytest.fixture
def analyst(users: Users) -> Api:
    return users("analyst@example.org", "analyst")

"""The small water market the market, web and API tests share, and importing it as a round."""
from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from market import services
from solver.loading import parse_market

MARKET: dict[str, Any] = {
    "format": "swarm-market/1", "name": "small water", "currency": "USD",
    "challenges": [
        {"id": "wells", "title": "Wells in Kisumu", "tags": ["sdg:6.1"], "value": 1000, "reliability": 0.8,
         "components": [
             {"id": "drill", "quantity": 2, "max_unit_price": "5000"},
             {"id": "pump", "requires": ["drill"]},
             {"id": "training", "critical": False, "value": 50}]},
        {"id": "latrines", "value": 400, "components": [{"id": "build", "quantity": 3}]},
    ],
    "funders": [
        {"id": "f1", "name": "Foundation", "pledges": [
            {"id": "p1", "amount": "9000.00", "scope": {"tags": ["sdg:6.1"]}},
            {"id": "p2", "amount": 3000, "max_share": 0.5}]},
        {"id": "f2", "pledges": [{"id": "p3", "amount": "2500.50", "match": 1}]},
    ],
    "actors": [
        {"id": "a1", "name": "DrillCo", "reliability": 0.95, "capacity": {"budget": "20000", "load": 3}, "bids": [
            {"id": "b1", "items": [{"component": "wells/drill", "price": "8000"},
                                   {"component": "wells/pump", "price": "1500.25"}], "load": 1},
            {"id": "b2", "items": [{"component": "wells/training", "price": "300"}], "exclusive_group": "g"}]},
        {"id": "a2", "bids": [
            {"id": "b3", "items": [{"component": "latrines/build", "quantity": 3, "price": "2400"}],
             "reliability": 0.9}]},
    ],
}


def market_doc() -> dict[str, Any]:
    return copy.deepcopy(MARKET)


def draft_doc() -> dict[str, Any]:
    """The small market's challenges with nobody in it yet."""
    doc = market_doc()
    doc["funders"], doc["actors"] = [], []
    return doc


def import_market(sessions: sessionmaker[Session], doc: dict[str, Any] | None = None) -> int:
    """A new open round holding `doc` (the small market unless given); its id."""
    with sessions.begin() as session:
        return services.import_market(session, None, parse_market(doc or market_doc())).id

"""Independent parts (solver/decompose.py) under version 1.1: on the model itself, no row holds
variables of two parts, whatever links a min_spend, a challenge share or a condition makes; and a
condition on a funder whose pledges pay elsewhere keeps the parts right."""
from __future__ import annotations

from solver.decompose import independent_parts
from solver.model import ClearingModel
from tests.solver.helpers import actor, bid, market
from tests.solver.helpers_1_1 import prepared, upgraded


def challenge(cid):
    return {"id": cid, "value": 10, "components": [{"id": "k"}, {"id": "m"}]}


def rows_cross_parts(m, parts=None) -> list[str]:
    """The rows of the whole market's model whose variables (through the model's own auxiliary
    variables, which are joined by the rows they appear in) reach two parts."""
    pools, pre = prepared(m)
    parts = parts or independent_parts(m, pools, pre)
    part_of = {cid: n for n, part in enumerate(parts) for cid in part}
    model = ClearingModel(m, pools, pre)
    home: dict[str, set[int]] = {}
    for cid, var in model.done.items():
        home.setdefault(var.name, set()).add(part_of[cid])
    for key, var in model.funded.items():
        home.setdefault(var.name, set()).add(part_of[model.challenge_of[key]])
    for bid_obj in model.bids:
        home.setdefault(model.accept[bid_obj.id].name, set()).update(
            part_of[model.challenge_of[item.component]] for item in bid_obj.items)
    for (_, cls), var in model.pay.items():
        home.setdefault(var.name, set()).add(part_of[model.challenge_of[cls]])
    # Union the variables row by row; then a group of variables joined by rows must meet one part.
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x
    rows = model.prob.constraints()
    for row in rows:
        names = [var.name for var in row.keys()]
        for name in names[1:]:
            parent[find(name)] = find(names[0])
    reach: dict[str, set[int]] = {}
    for name, homes in home.items():
        reach.setdefault(find(name), set()).update(homes)
    return [row.name for row in rows if row.keys()
            and len(reach.get(find(next(iter(row.keys())).name), set())) > 1]


def doc():
    """Three challenges: f pays A and B, g pays C, q pays A and C."""
    return market([challenge("A"), challenge("B"), challenge("C")],
                  [{"id": "f", "amount": "500", "scope": {"challenges": ["A", "B"]}},
                   {"id": "g", "amount": "500", "scope": {"challenges": ["C"]}},
                   {"id": "q", "amount": "500", "scope": {"challenges": ["C"]}}],
                  [actor(f"X{c}", bid(f"{c}k", (f"{c}/k", "50")), bid(f"{c}m", (f"{c}/m", "50")))
                   for c in "ABC"])


def parts_of(m):
    return [list(p) for p in independent_parts(m, *prepared(m))]


def test_version_1_parts_and_rows():
    m = upgraded(doc())
    assert parts_of(m) == [["A", "B"], ["C"]]
    assert rows_cross_parts(m) == []


def test_limits_keep_rows_inside_parts():
    m = upgraded(doc(), {"f": {"min_spend": 20000}, "g": {"max_challenge_share": 0.5},
                         "q": {"conditions": [("F0", 100)], "min_spend": 1000}})
    assert parts_of(m) == [["A", "B"], ["C"]]
    assert rows_cross_parts(m) == []


def test_a_condition_on_a_funder_paying_elsewhere():
    """q (pays C only) names F0, whose pledge pays A and B only: q can never pay, and C stays apart."""
    m = upgraded(doc(), {"q": {"conditions": [("F0", 100)]}})
    assert parts_of(m) == [["A", "B"], ["C"]]
    assert rows_cross_parts(m) == []


def test_a_condition_inside_a_joined_part():
    """q pays A and C, names F1 (g pays C): A, B and C become one part through q's own money."""
    d = doc()
    d["funders"][2]["pledges"][0]["scope"] = {"challenges": ["A", "C"]}
    m = upgraded(d, {"q": {"conditions": [("F1", 100)]}})
    assert parts_of(m) == [["A", "B", "C"]]
    assert rows_cross_parts(m) == []


def test_the_row_check_sees_a_wrong_split():
    """The check itself: f's money joins A and B, so A alone and B alone is a wrong split."""
    assert "pledged_0" in rows_cross_parts(upgraded(doc()), parts=(("A",), ("B",), ("C",)))

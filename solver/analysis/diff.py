"""What changed between two clearings of a market, from their `swarm-allocation/1` documents alone."""
from __future__ import annotations

from typing import Any

from .common import AnalysisError, money_of, num


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    ids_a = [c["id"] for c in a.get("challenges", [])]
    ids_b = [c["id"] for c in b.get("challenges", [])]
    if sorted(ids_a) != sorted(ids_b):
        only = sorted(set(ids_a) ^ set(ids_b))
        raise AnalysisError(f"the allocations are not of the same market: challenges differ ({', '.join(only[:5])})")
    done_a = {c["id"] for c in a["challenges"] if c.get("completed")}
    done_b = {c["id"] for c in b["challenges"] if c.get("completed")}
    value_of = {c["id"]: c.get("value", 0) for c in a["challenges"]}
    value_of.update({c["id"]: c.get("value", 0) for c in b["challenges"] if c.get("completed")})
    won_a = {w["bid"]: w for w in a.get("awards", [])}
    won_b = {w["bid"]: w for w in b.get("awards", [])}
    challenge_of = {f"{c['id']}/{k['id']}": c["id"] for c in a["challenges"] for k in c.get("components", [])}

    def per_pledge(doc: dict[str, Any]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for flow in doc.get("flows", []):
            cid = challenge_of.get(flow["component"], flow["component"])
            into = out.setdefault(flow["pledge"], {})
            into[cid] = into.get(cid, 0) + money_of(flow["amount"])
        return out

    flows_a, flows_b = per_pledge(a), per_pledge(b)
    funders = {p["id"]: p.get("funder", "") for p in a.get("pledges", []) + b.get("pledges", [])}
    order = list(dict.fromkeys([p["id"] for p in a.get("pledges", [])] + [p["id"] for p in b.get("pledges", [])]))
    spent_a = {p["id"]: money_of(p.get("spent")) for p in a.get("pledges", [])}
    spent_b = {p["id"]: money_of(p.get("spent")) for p in b.get("pledges", [])}
    moved = []
    for pid in order:
        fa, fb = flows_a.get(pid, {}), flows_b.get(pid, {})
        changes = {cid: fb.get(cid, 0) - fa.get(cid, 0) for cid in set(fa) | set(fb)}
        changes = {cid: d for cid, d in changes.items() if d}
        if changes or spent_a.get(pid, 0) != spent_b.get(pid, 0):
            moved.append({"pledge": pid, "funder": funders.get(pid, ""), "spent_a": spent_a.get(pid, 0),
                          "spent_b": spent_b.get(pid, 0),
                          "by_challenge": [(cid, changes[cid]) for cid in ids_a if cid in changes]})
    return {
        "status": (a.get("status"), b.get("status")),
        "value": (a.get("value", 0), b.get("value", 0)),
        "cost": (money_of(a.get("cost")), money_of(b.get("cost"))),
        "completed": (len(done_a), len(done_b)),
        "gained": [(cid, value_of[cid]) for cid in ids_a if cid in done_b - done_a],
        "lost": [(cid, value_of[cid]) for cid in ids_a if cid in done_a - done_b],
        "bids_won": [(w["bid"], w["actor"], money_of(w["price"])) for bid, w in won_b.items() if bid not in won_a],
        "bids_lost": [(w["bid"], w["actor"], money_of(w["price"])) for bid, w in won_a.items() if bid not in won_b],
        "moved": moved,
    }


def _m(cents: int, signed: bool = False) -> str:
    sign = "+" if signed and cents > 0 else ("-" if cents < 0 else "")
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{frac:02d}"


def describe(d: dict[str, Any], label_a: str = "A", label_b: str = "B", limit: int = 20) -> str:
    va, vb = d["value"]
    ca, cb = d["cost"]
    na, nb = d["completed"]
    lines = [f"value      {num(va):>14} -> {num(vb):>14}  ({'+' if vb >= va else ''}{num(vb - va)})",
             f"completed  {na:>14} -> {nb:>14}",
             f"cost       {_m(ca):>14} -> {_m(cb):>14}  ({_m(cb - ca, True)})"]
    sa, sb = d.get("status", (None, None))
    if "infeasible" in (sa, sb) and sa != sb:     # 1.1: fixed bids that cannot all be accepted
        lines.append(f"status     {sa:>14} -> {sb:>14}"
                     + ("  (the fixed bids cannot all be accepted: nothing is accepted)" if sb == "infeasible" else ""))
    if not (d["gained"] or d["lost"] or d["bids_won"] or d["bids_lost"] or d["moved"]):
        return "\n".join(lines + ["no change: the same challenges, bids and flows"])
    lines.append(f"challenges gained ({label_b} not {label_a}): "
                 + (", ".join(f"{c} (value {num(v)})" for c, v in d["gained"]) or "none"))
    lines.append(f"challenges lost ({label_a} not {label_b}): "
                 + (", ".join(f"{c} (value {num(v)})" for c, v in d["lost"]) or "none"))
    for key, title in (("bids_won", "bids won"), ("bids_lost", "bids lost")):
        rows = d[key]
        lines.append(f"{title}: {len(rows)}" + (":" if rows else ""))
        for bid, actor, price in rows[:limit]:
            lines.append(f"  {bid} ({actor}) {_m(price)}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more")
    moved = d["moved"]
    lines.append(f"money moved, per pledge: {len(moved)} pledge(s)" + (":" if moved else ""))
    for row in moved[:limit]:
        parts = ", ".join(f"{cid} {_m(c, True)}" for cid, c in row["by_challenge"])
        lines.append(f"  {row['pledge']} ({row['funder']}): spent {_m(row['spent_a'])} -> {_m(row['spent_b'])}"
                     + (f"; {parts}" if parts else ""))
    if len(moved) > limit:
        lines.append(f"  ... and {len(moved) - limit} more")
    return "\n".join(lines)

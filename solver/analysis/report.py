"""One self-contained HTML report of a clearing: a Sankey of money from funders through challenges to
actors, the per-challenge table, the unfunded reasons, and (given a sweep) value delivered against money
pledged. plotly's JavaScript is inlined once, so the file opens with no network."""
from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from ..market import Market
from ..pledge_notes import pledge_notes
from .common import money_of, num

FUNDER_COLOUR, CHALLENGE_COLOUR, ACTOR_COLOUR = "#2f6fb0", "#3a9d5d", "#c77c2a"


def sankey(market: Market, doc: dict[str, Any]) -> go.Figure:
    challenge_of = {k.key: c.id for c in market.challenges for k in c.components}
    funder_to: dict[tuple[str, str], int] = {}
    for flow in doc.get("flows", []):
        key = (flow["funder"], challenge_of[flow["component"]])
        funder_to[key] = funder_to.get(key, 0) + money_of(flow["amount"])
    to_actor: dict[tuple[str, str], int] = {}
    for award in doc.get("awards", []):
        for item in award["items"]:
            key = (challenge_of[item["component"]], award["actor"])
            to_actor[key] = to_actor.get(key, 0) + money_of(item["price"])
    funders = sorted({f for f, _ in funder_to})
    challenges = [c.id for c in market.challenges if any(c.id == cid for _, cid in funder_to)
                  or any(c.id == cid for cid, _ in to_actor)]
    actors = sorted({a for _, a in to_actor})
    labels = [f"funder {f}" for f in funders] + challenges + [f"actor {a}" for a in actors]
    colours = [FUNDER_COLOUR] * len(funders) + [CHALLENGE_COLOUR] * len(challenges) + [ACTOR_COLOUR] * len(actors)
    at = {("f", f): n for n, f in enumerate(funders)}
    at.update({("c", c): len(funders) + n for n, c in enumerate(challenges)})
    at.update({("a", a): len(funders) + len(challenges) + n for n, a in enumerate(actors)})
    links = ([(at["f", f], at["c", c], cents) for (f, c), cents in sorted(funder_to.items())]
             + [(at["c", c], at["a", a], cents) for (c, a), cents in sorted(to_actor.items())])
    source = [s for s, _, _ in links]
    target = [t for _, t, _ in links]
    value = [cents / 100 for _, _, cents in links]
    figure = go.Figure(go.Sankey(
        node={"label": labels, "color": colours, "pad": 12, "thickness": 14},
        link={"source": source, "target": target, "value": value}))
    figure.update_layout(title=f"Money from funders through challenges to actors ({market.currency})",
                         height=max(500, 18 * max(len(funders), len(actors), 1)), margin={"l": 10, "r": 10})
    return figure


def curve(sweep: dict[str, Any], currency: str) -> go.Figure | None:
    rows = [r for r in sweep.get("rows", []) if r.get("kind") == "scale-pledges"]
    if not rows:
        return None
    rows.sort(key=lambda r: money_of(r["pledged"]))
    figure = go.Figure(go.Scatter(x=[money_of(r["pledged"]) / 100 for r in rows], y=[r["value"] for r in rows],
                                  mode="lines+markers", text=[r["scenario"] for r in rows], name="value"))
    figure.update_layout(title="Value delivered against money pledged (pledges scaled)",
                         xaxis_title=f"money pledged ({currency})", yaxis_title="value delivered", height=420)
    return figure


def render(market: Market, doc: dict[str, Any], sweep: dict[str, Any] | None = None) -> str:
    e = html.escape
    targets = {c.id: c.reliability for c in market.challenges}
    titles = {c.id: c.title or "" for c in market.challenges}
    pledged = sum(p.amount for p in market.pledges)
    spent = sum(money_of(p["spent"]) for p in doc.get("pledges", []))
    done = [c for c in doc["challenges"] if c["completed"]]
    rows = []
    for c in doc["challenges"]:
        target = targets.get(c["id"])
        parts = f"{sum(1 for k in c['components'] if k['funded'])}/{len(c['components'])}"
        rows.append(f"<tr class=\"{'done' if c['completed'] else 'not'}\"><td>{e(c['id'])}</td><td>{e(titles[c['id']])}"
                    f"</td><td>{'yes' if c['completed'] else 'no'}</td><td class=n>{num(c['value'])}</td>"
                    f"<td class=n>{e(c['cost'])}</td><td class=n>{parts}</td><td class=n>{c['reliability']:.3f}</td>"
                    f"<td class=n>{'' if target is None else f'{target:g}'}</td></tr>")
    reasons = "".join(f"<li><b>{e(u['challenge'])}</b><ul>{''.join(f'<li>{e(r)}</li>' for r in u['reasons'])}</ul></li>"
                      for u in doc.get("unfunded", []))
    figures = [sankey(market, doc).to_html(full_html=False, include_plotlyjs=True, div_id="sankey")]
    extra = curve(sweep, market.currency) if sweep else None
    if extra is not None:
        figures.append(extra.to_html(full_html=False, include_plotlyjs=False, div_id="sweep-curve"))
    notes = "".join(f"<li><b>{e(n.pledge)}</b> ({e(n.funder)})<ul>{''.join(f'<li>{e(t)}</li>' for t in n.notes)}"
                    "</ul></li>" for n in pledge_notes(market, doc))
    conditions = f'<h2>Funders\' conditions</h2>\n<ul id="pledge-notes">{notes}</ul>\n' if notes else ""
    name = e(market.name or "(unnamed market)")
    paid = f"{money_of(doc['cost']) / 100:,.2f} {e(market.currency)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Swarm Market report: {name}</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}}td.n{{text-align:right}}
tr.not td{{color:#777}}</style></head>
<body><h1>Swarm Market report: {name}</h1>
<p>Status {e(str(doc.get('status')))}; {len(done)} of {len(doc['challenges'])} challenges completed, value
{num(doc['value'])}; paid to actors {paid} of {pledged / 100:,.2f} pledged;
returned to funders {(pledged - spent) / 100:,.2f}.</p>
<h2>Where the money goes</h2>
{figures[0]}
<h2>Challenges</h2>
<table id="challenges"><thead><tr><th>challenge</th><th>title</th><th>done</th><th>value</th><th>cost</th>
<th>parts</th><th>reliability</th><th>target</th></tr></thead><tbody>{''.join(rows)}</tbody></table>
<h2>Not completed, and why</h2>
<ul id="unfunded">{reasons or '<li>every challenge is completed</li>'}</ul>
{conditions}{'<h2>Value against money pledged</h2>' + figures[1] if len(figures) > 1 else ''}
</body></html>
"""

"""Re-clear a market with one or more changes and say what differs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..allocation import Allocation
from ..clearing import ClearOptions, clear
from ..market import Market
from .common import (QUIET, AnalysisError, Progress, add_condition, add_pledge, drop_actor, fix_bid, parse_amount,
                     parse_scope, parse_target, scale_pledges, set_target)
from .diff import diff


@dataclass(frozen=True)
class Change:
    kind: str            # add-pledge, drop-actor, scale-pledges, target; 1.1: add-condition, fix-bid
    text: str

    def describe(self) -> str:
        return f"--{self.kind} {self.text}"


def apply(market: Market, changes: list[Change]) -> Market:
    """The market with the changes applied in the order given; AnalysisError for a bad one."""
    added = 0
    for change in changes:
        if change.kind == "scale-pledges":
            try:
                factor = float(change.text)
            except ValueError:
                raise AnalysisError(f"--scale-pledges {change.text!r}: not a number") from None
            market = scale_pledges(market, factor)
        elif change.kind == "drop-actor":
            market = drop_actor(market, change.text)
        elif change.kind == "add-pledge":
            amount_text, _, scope_text = change.text.partition(":")
            amount = parse_amount(amount_text, "--add-pledge amount")
            scope = parse_scope(market, scope_text) if scope_text else None
            added += 1
            market = add_pledge(market, amount, scope, f"whatif-{added}", "whatif")
        elif change.kind == "target":
            cid, target = parse_target(market, change.text)
            market = set_target(market, cid, target)
        elif change.kind == "add-condition":
            market = add_condition(market, change.text)
        elif change.kind == "fix-bid":
            market = fix_bid(market, change.text)
        else:
            raise AnalysisError(f"unknown change {change.kind!r}")
    return market


def whatif(market: Market, changes: list[Change], backend: str = "cbc", progress: Progress = QUIET
           ) -> tuple[Allocation, Allocation, dict[str, Any]]:
    if not changes:
        raise AnalysisError("no change given: use --add-pledge, --drop-actor, --scale-pledges, --target, "
                            "--add-condition or --fix-bid")
    changed = apply(market, changes)
    progress.start("clearing before and after", 2)
    before = clear(market, ClearOptions(backend=backend, explain=False))
    progress.advance()
    after = clear(changed, ClearOptions(backend=backend))
    progress.advance()
    progress.stop()
    return before, after, diff(before.to_document(), after.to_document())

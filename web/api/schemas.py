"""The API's schemas. Request bodies reuse the services' own schemas (market.schemas), subclassed only to
give each a unique OpenAPI name and to leave out the fields that only the trusted command line may send;
responses have their own output schemas. Money is a decimal string both ways ("1250.50")."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from market import schemas as market_schemas
from market.models import JobState
from market.services.jobs import MAX_TIME_LIMIT

MONEY_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"


class ApiErrorSchema(Schema):
    """Every error of the API (see the `errors` description)."""
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    error = fields.String(required=True, metadata={"description": "the HTTP status name, e.g. \"Not Found\""})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                         metadata={"description": 'messages by field path, e.g. {"items[0].price": ["..."]}; '
                                                  'the key "" holds messages about the request as a whole'})


# ---- request bodies (the services validate the same payloads again with the same schemas) ----

class ServerKey:
    """A new pledge's or bid's id is the server's to give (the answer has it): keys are unique in a round
    across its users, so an id the caller chose and was refused would tell that someone else holds it."""

    @pre_load
    def _no_id(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and "id" in data:
            raise ValidationError({"id": ["given by the server: leave it out; the answer holds the new id"]})
        return data


class PledgeCreate(ServerKey, market_schemas.PledgeSchema):
    class Meta:
        exclude = ("funder", "id")


class TenderPledgeIn(Schema):
    """New money for a failed award's repair (issue 18): its scope is the failure's challenges."""
    amount = market_schemas.Money(required=True)


class TenderBidIn(ServerKey, market_schemas.BidSchema):
    """A bid in a failure's re-tender: its items must all be on the failure's challenges."""
    class Meta:
        exclude = ("actor", "id", "exclusive_group", "standby_days", "standby_price")


class TenderOut(Schema):
    failure = fields.Integer(required=True)
    round = fields.Integer(required=True)
    challenges = fields.List(fields.String(), required=True, metadata={"description": "the challenges' ids"})
    until = fields.DateTime(required=True, metadata={"description": "bids and pledges are taken until then"})


class PledgeChange(market_schemas.PledgeSchema):
    class Meta:
        exclude = ("funder", "id")


class BidCreate(ServerKey, market_schemas.BidSchema):
    class Meta:
        exclude = ("actor", "id")


class BidChange(market_schemas.BidSchema):
    class Meta:
        exclude = ("actor", "id")


class Exclusion(market_schemas.ExclusionSchema):
    pass


class BidFix(market_schemas.ExclusionSchema):
    """Why a bid is fixed (contracted already) or unfixed: kept in the audit log with who said it."""


class TermsIn(market_schemas.TermsSchema):
    """Some or all of a round's settlement terms."""


class TermsOut(Schema):
    round = fields.Integer(required=True)
    holdback_percent = fields.Integer(required=True, metadata={
        "description": "the percent of each item's price paid after the service period, on a second verification"})
    service_days = fields.Integer(required=True, metadata={"description": "how long the thing must keep working"})
    review_days = fields.Integer(required=True, metadata={"description": "a verifier's time to review a report"})
    delivery_days = fields.Integer(required=True, metadata={
        "description": "from the commit to the deadline of each delivery report"})
    holdback_report_days = fields.Integer(required=True, metadata={
        "description": "from the end of the service period to the deadline of the holdback's report"})
    committed = fields.Boolean(required=True, metadata={"description": "true: fixed, the clearing is committed"})


class DepositIn(market_schemas.DepositSchema):
    """Money paid in for a committed pledge (its funder, or an admin for a bank transfer)."""


class PledgeMoneyOut(Schema):
    """A pledge's money in the ledger (issue 17)."""
    pledge = fields.String(required=True)
    round = fields.Integer(required=True)
    committed = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "what the committed clearing takes from it into escrow"})
    in_escrow = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    deposited = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "what its funder has paid in"})
    owed = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "committed and not yet deposited"})


class RoundMoneyOut(Schema):
    """A round's money in the ledger: whether its result is committed, and the totals."""
    round = fields.Integer(required=True)
    committed = fields.Boolean(required=True)
    committed_amount = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    deposited_amount = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    phase = fields.String(required=True, metadata={
        "description": "before the commit the round's status; then committed, delivering, settled (every milestone "
                       "paid, refunded or written off)"})


class FileOut(Schema):
    """An evidence file of a report: GET /files/{id} gives its bytes."""
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"enum": ["image/jpeg", "image/png", "application/pdf"]})
    size_bytes = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"description": "/api/v1/files/{id}"})


class ReportOut(Schema):
    """A delivery report and, once reviewed, the verifier's decision."""
    id = fields.Integer(required=True)
    milestone = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"enum": ["submitted", "accepted", "rejected"]})
    quantity = fields.Integer(required=True, metadata={"description": "the units reported delivered"})
    note = fields.String(required=True)
    latitude = fields.Float(required=True, allow_none=True)
    longitude = fields.Float(required=True, allow_none=True)
    submitted_at = fields.DateTime(required=True)
    reviewed_at = fields.DateTime(required=True, allow_none=True)
    accepted_quantity = fields.Integer(required=True, allow_none=True)
    released = fields.String(required=True, allow_none=True, metadata={
        "pattern": MONEY_PATTERN, "description": "paid to the actor on acceptance (pro rata when fewer units)"})
    reason = fields.String(required=True, allow_none=True, metadata={
        "description": "why it was rejected, or why fewer units were accepted"})
    files = fields.List(fields.Nested(FileOut), required=True)


class DisputeOut(Schema):
    """An actor's dispute of a rejection or deduction: the disputed amount is frozen until an analyst decides."""
    id = fields.Integer(required=True)
    milestone = fields.Integer(required=True)
    report = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["rejection", "deduction"]})
    amount = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    reason = fields.String(required=True)
    opened_at = fields.DateTime(required=True)
    state = fields.String(required=True, metadata={"enum": ["open", "for_actor", "for_verifier"]})
    decided_at = fields.DateTime(required=True, allow_none=True)
    decision = fields.String(required=True, allow_none=True, metadata={"description": "the analyst's note"})
    released = fields.String(required=True, allow_none=True, metadata={"pattern": MONEY_PATTERN})


class MilestoneOut(Schema):
    """A milestone of an award: what it pays for, its state, its reports, and what comes next."""
    id = fields.Integer(required=True)
    round = fields.Integer(required=True)
    component = fields.String(required=True, metadata={"description": "challenge/component"})
    actor = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["delivery", "holdback"]})
    quantity = fields.Integer(required=True)
    amount = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    state = fields.String(required=True, metadata={"enum": ["open", "submitted", "rejected", "accepted", "disputed",
                                                            "written_off"]})
    service_days = fields.Integer(required=True, allow_none=True)
    opens_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "reports are taken from then (a holdback: the end of its service period)"})
    due_at = fields.DateTime(required=True, allow_none=True, metadata={"description": "the reporting deadline"})
    released = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    refunded = fields.String(required=True, metadata={"pattern": MONEY_PATTERN,
                                                      "description": "gone back to the funders"})
    in_escrow = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    settled = fields.Boolean(required=True, metadata={"description": "paid and refunded in full, or written off"})
    next_step = fields.String(required=True)
    may_report = fields.Boolean(required=True, metadata={"description": "its actor may report on it now"})
    disputable = fields.Integer(required=True, allow_none=True, metadata={
        "description": "the report whose decision its actor may dispute now"})
    reports = fields.List(fields.Nested(ReportOut), required=True)
    disputes = fields.List(fields.Nested(DisputeOut), required=True)


class ReviewIn(market_schemas.ReviewSchema):
    """A verifier's decision on a report: accept (quantity: fewer units, paid pro rata, with a reason) or reject
    (with a reason)."""


class DisputeIn(market_schemas.DisputeSchema):
    """Why the verifier's decision is wrong."""


class DecisionIn(market_schemas.DecisionSchema):
    """An analyst's decision on a dispute."""


class WriteOffIn(market_schemas.ExclusionSchema):
    """Why the milestone is written off (its escrow goes back to its funders)."""


class VerifierIn(market_schemas.VerifierSchema):
    """Assign an account (verifier, funder or actor: never one that funds or bid on it) to the round, or to one
    of its challenges."""


class VerifierOut(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    challenge = fields.String(required=True, allow_none=True, metadata={"description": "null: the whole round"})


class WaitingOut(Schema):
    """A report waiting for a verifier; overdue past the round's review time (escalated, never paid by itself)."""
    report = fields.Integer(required=True)
    milestone = fields.Integer(required=True)
    round = fields.Integer(required=True)
    component = fields.String(required=True)
    actor = fields.String(required=True)
    submitted_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    overdue = fields.Boolean(required=True)


class StatementLineOut(Schema):
    """One milestone a pledge pays for: the funder's part, what was released of it, and what it bought."""
    pledge = fields.String(required=True)
    milestone = fields.Integer(required=True)
    component = fields.String(required=True, metadata={"description": "challenge/component"})
    actor = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["delivery", "holdback"]})
    quantity = fields.Integer(required=True)
    state = fields.String(required=True)
    your_part = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    released = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    refunded = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    verified_at = fields.DateTime(required=True, allow_none=True)
    accepted_quantity = fields.Integer(required=True, allow_none=True)
    bought = fields.String(required=True, metadata={
        "description": 'in the challenge\'s units, e.g. "2 of 12 boreholes in Kitui, verified 2027-03-02"'})
    evidence = fields.List(fields.Nested(FileOut), required=True)


class StatementOut(Schema):
    """A funder's money in one round, from the ledger's entries."""
    round = fields.Integer(required=True)
    round_name = fields.String(required=True)
    currency = fields.String(required=True)
    funder = fields.String(required=True, metadata={"description": "the funder's key in the round"})
    committed = fields.Boolean(required=True, metadata={"description": "the round's clearing is committed"})
    pledged = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    taken = fields.String(required=True, metadata={"pattern": MONEY_PATTERN,
                                                   "description": "what the committed clearing took into escrow"})
    unused = fields.String(required=True, metadata={"pattern": MONEY_PATTERN, "description": "never owed"})
    deposited = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    owed = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    released = fields.String(required=True, metadata={"pattern": MONEY_PATTERN,
                                                      "description": "paid to actors for verified work"})
    refunded = fields.String(required=True, metadata={"pattern": MONEY_PATTERN,
                                                      "description": "gone back from escrow to the funder"})
    due_back = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "deposited beyond what is still committed: to be paid back"})
    rolled_out = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "money that came back, pledged again in the programme's next rounds"})
    rolled_in = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "this round's pledges rolled over from earlier rounds"})
    repaired = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "escrow of failed work that repairs spent on the actors replacing it"})
    in_escrow = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    held_back = fields.String(required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "in escrow until the things have kept working"})
    lines = fields.List(fields.Nested(StatementLineOut), required=True)


class StatementArgs(Schema):
    funder = fields.String(load_default=None, validate=validate.Length(max=64), metadata={
        "description": "analysts and admins: whose statement (the funder's key); funders read their own"})


class ChallengeProgressOut(Schema):
    challenge = fields.String(required=True, allow_none=True, metadata={"description": "null: the round's total"})
    title = fields.String(required=True)
    milestones = fields.Integer(required=True)
    verified = fields.Integer(required=True)
    written_off = fields.Integer(required=True)
    committed = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    released = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    refunded = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})


class ProgressOut(Schema):
    """A committed round's progress, in aggregate per challenge (no private figures)."""
    round = fields.Integer(required=True)
    phase = fields.String(required=True, metadata={"enum": ["committed", "delivering", "settled"]})
    currency = fields.String(required=True)
    challenges = fields.List(fields.Nested(ChallengeProgressOut), required=True)
    total = fields.Nested(ChallengeProgressOut, required=True)


class NotificationOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "e.g. award won, report rejected, payment released"})
    text = fields.String(required=True)
    link = fields.String(required=True, allow_none=True, metadata={"description": "a path on the site"})
    round = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    read = fields.Boolean(required=True)


class ReadIn(Schema):
    upto = fields.Integer(strict=True, load_default=None, allow_none=True,
                          validate=validate.Range(1, 2**63 - 1), metadata={
                              "description": "mark read those up to this id (none: all)"})


class ReadOut(Schema):
    marked = fields.Integer(required=True, metadata={"description": "how many were unread"})


# The multipart body of a report (read by the view, documented here: webargs would refuse "3" for an integer).
REPORT_FORM = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["quantity"],
    "properties": {
        "quantity": {"type": "integer", "minimum": 1, "description": "the units delivered"},
        "note": {"type": "string", "maxLength": 4000},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90, "description": "with longitude, or neither"},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "files": {"type": "array", "maxItems": 5, "items": {"type": "string", "format": "binary"},
                  "description": "JPEG, PNG or PDF (read from the content), at most 10 MB each"}}}}}}


class RoundCreate(market_schemas.RoundSchema):
    pass


class ChallengeCreate(market_schemas.ChallengeSchema):
    pass


class ClearArgs(Schema):
    """A clearing job's options; left out, the time limit and gap suit the round's size (60 s up to 50
    challenges and 2,000 bids, 180 s up to 300 challenges, else 600 s with a gap of 0.0001)."""
    solver = fields.String(load_default="cbc", validate=validate.OneOf(["cbc", "highs"]))
    time_limit = fields.Float(load_default=None, validate=validate.Range(min=1, max=MAX_TIME_LIMIT),
                              metadata={"description": f"seconds for the whole clearing, 1..{MAX_TIME_LIMIT:g}; "
                                                       "default: by the round's size"})
    gap = fields.Float(load_default=None, validate=validate.Range(min=0, max=1, max_inclusive=False),
                       metadata={"description": "relative gap at which the solver may stop, 0 <= gap < 1 "
                                                "(0.0001 is 0.01%); default: by the round's size (none: proven best)"})
    explain = fields.Boolean(load_default=True,
                             metadata={"description": "give the reasons for each challenge not completed"})


class SolveArgs(Schema):
    time_limit = fields.Float(load_default=20.0, validate=validate.Range(min=1, max=20),
                              metadata={"description": "seconds for the whole request, reasons included, 1..20"})
    explain = fields.Boolean(load_default=False,
                             metadata={"description": "give the reasons for each challenge not completed"})


class MarketDocument(Schema):
    """A `swarm-market/1` or `swarm-market/1.1` document (see the market format); checked by the engine's
    loader."""

    class Meta:
        unknown = "include"

    format = fields.String(required=True, metadata={"example": "swarm-market/1"})


# ---- responses ----

class Me(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


class RoundOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["draft", "open", "closed", "cleared"]})
    note = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    changed_at = fields.DateTime(required=True, metadata={
        "description": "when the round itself last changed: its status, challenges or exclusions (pledges and "
                       "bids have a changed_at of their own and leave the round's as it was)"})
    opens_at = fields.DateTime(allow_none=True, metadata={"description": "when the round opens (its schedule)"})
    closes_at = fields.DateTime(allow_none=True, metadata={
        "description": "from this time on pledges and bids are refused, even if no analyst has closed the round"})


class ComponentOut(Schema):
    id = fields.String(required=True)
    title = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    quantity = fields.Integer(required=True)
    critical = fields.Boolean(required=True)
    value = fields.Float(required=True)
    requires = fields.List(fields.String(), required=True)
    min_reliability = fields.Float(allow_none=True)
    max_unit_price = fields.String(allow_none=True, metadata={"pattern": MONEY_PATTERN})


class ChallengeOut(Schema):
    id = fields.String(required=True)
    title = fields.String(allow_none=True)
    value = fields.Float(required=True)
    reliability = fields.Float(allow_none=True)
    tags = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True, metadata={
        "description": "the analysts' narrative (not in market files)"})
    place = fields.String(allow_none=True, metadata={"description": "where the work is (not in market files)"})
    components = fields.List(fields.Nested(ComponentOut), required=True)


class ScopeOut(Schema):
    """Only the lists given (each non-empty). A component is in scope when it matches any of challenges,
    components, tags (or, when none is given but all_tags or exclude_tags is, any component) and its challenge
    carries every tag of all_tags and none of exclude_tags. An empty scope admits nothing; a null scope, all."""
    challenges = fields.List(fields.String())
    components = fields.List(fields.String())
    tags = fields.List(fields.String(), metadata={"description": "any of these tags"})
    all_tags = fields.List(fields.String(), metadata={"description": "all of these tags"})
    exclude_tags = fields.List(fields.String(), metadata={"description": "never these tags"})


class ConditionOut(Schema):
    funder = fields.String(required=True, metadata={
        "description": "a funder of the round, by its key (GET /rounds/{round_id}/funders lists those you may name)"})
    min = fields.String(required=True, metadata={"pattern": MONEY_PATTERN, "example": "200000.00"})


class FunderOut(Schema):
    """A funder of the round that a pledge's condition may name."""
    id = fields.String(required=True, metadata={"description": "its key: what a condition's `funder` says"})
    name = fields.String(allow_none=True, required=True)


class PledgeOut(Schema):
    id = fields.String(required=True)
    round = fields.Integer(required=True)
    funder = fields.String(required=True)
    amount = fields.String(required=True, metadata={"pattern": MONEY_PATTERN, "example": "1250.50"})
    scope = fields.Nested(ScopeOut, allow_none=True)
    max_share = fields.Float(allow_none=True)
    match = fields.Float(allow_none=True)
    min_spend = fields.String(allow_none=True, required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "pays nothing at all or at least this much in total (null: no floor)"})
    max_challenge_share = fields.Float(allow_none=True, required=True, metadata={
        "description": "in each challenge, pays at most this fraction of the challenge's cost (null: no cap)"})
    conditions = fields.List(fields.Nested(ConditionOut), required=True, metadata={
        "description": "pays into a challenge only if each named funder pays at least `min` into it too"})
    listed = fields.Boolean(required=True, metadata={
        "description": "its funder is shown by name with its money on the public results (default false)"})
    rollover = fields.Boolean(required=True, metadata={
        "description": "money that comes back (unspent at clearing, refunded after a failure) is pledged again in "
                       "the next round of the round's programme (default false)"})
    withdrawn = fields.Boolean(required=True)
    excluded = fields.String(allow_none=True, metadata={
        "description": "why an analyst left it out of the clearing (null: it takes part)"})
    created_at = fields.DateTime(required=True)
    changed_at = fields.DateTime(required=True)


class BidItemOut(Schema):
    component = fields.String(required=True)
    quantity = fields.Integer(allow_none=True)
    price = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})


class BidOut(Schema):
    id = fields.String(required=True)
    round = fields.Integer(required=True)
    actor = fields.String(required=True)
    items = fields.List(fields.Nested(BidItemOut), required=True)
    reliability = fields.Float(allow_none=True)
    # Named like Schema.load, which it does not hide: marshmallow's metaclass takes fields off the class.
    load = fields.Float(required=True)  # type: ignore[assignment]
    exclusive_group = fields.String(allow_none=True)
    standby_days = fields.Integer(allow_none=True, required=True, metadata={
        "description": "if it loses, it stands by this many days after the clearing is committed (null: no offer)"})
    standby_price = fields.String(allow_none=True, required=True, metadata={
        "pattern": MONEY_PATTERN, "description": "its standby price for the whole bundle (null: its own prices)"})
    standby_withdrawn = fields.Boolean(required=True, metadata={"description": "its actor withdrew the standby offer"})
    fixed = fields.Boolean(required=True, metadata={
        "description": "an analyst marked it contracted: every clearing must accept it, and its actor may no longer "
                       "change or withdraw it (seen only by its actor and the analysts, as the whole bid)"})
    fixed_reason = fields.String(allow_none=True, required=True, metadata={
        "description": "why it was fixed (null: not fixed, or fixed in an imported market file)"})
    withdrawn = fields.Boolean(required=True)
    excluded = fields.String(allow_none=True, metadata={
        "description": "why an analyst left it out of the clearing (null: it takes part)"})
    created_at = fields.DateTime(required=True)
    changed_at = fields.DateTime(required=True)


class RunOut(Schema):
    id = fields.Integer(required=True)
    round = fields.Integer(required=True)
    status = fields.String(required=True)
    backend = fields.String(required=True)
    seconds = fields.Float(required=True)
    value = fields.Float(required=True)
    cost = fields.String(required=True, metadata={"pattern": MONEY_PATTERN})
    digest = fields.String(metadata={"description": "sha256 of the market cleared; analysts and admins only"})
    is_result = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class JobOut(Schema):
    """A clearing job: its state, the solver's progress as last reported (null until the backend reports
    it) and its outcome."""
    id = fields.Integer(required=True)
    round = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in JobState]),
                          metadata={"description": "queued -> running -> succeeded | failed | cancelled"})
    stage = fields.String(allow_none=True, required=True, metadata={
        "description": "the solver's step: model, greedy start, relaxation, value phase, cost phase, rounding, "
                       "reasons"})
    detail = fields.String(allow_none=True, required=True)
    elapsed_seconds = fields.Float(allow_none=True, required=True, metadata={"description": "null until it starts"})
    incumbent = fields.Float(allow_none=True, required=True,
                             metadata={"description": "the best objective value found so far, as the backend says"})
    bound = fields.Float(allow_none=True, required=True, metadata={"description": "the backend's best bound"})
    gap = fields.Float(allow_none=True, required=True, metadata={"description": "|bound - incumbent| / |incumbent|"})
    backend = fields.String(required=True)
    time_limit = fields.Float(allow_none=True, required=True, metadata={"description": "seconds asked for"})
    requested_gap = fields.Float(allow_none=True, required=True, metadata={"description": "the gap asked for"})
    explain = fields.Boolean(required=True)
    cancel_requested = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True, required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True, metadata={"description": "why it failed or was cancelled"})
    run_id = fields.Integer(allow_none=True, required=True, metadata={"description": "the run it recorded"})
    retry_of = fields.Integer(allow_none=True, required=True)
    links = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "self; round; run (when succeeded)"})


class Number(fields.Float):
    """A JSON number passed through as the engine wrote it (whole values stay integers: same bytes as the file)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class AllocationDocument(Schema):
    """A `swarm-allocation/1` document (see the market format): awards, flows, per-pledge spent and
    returned, challenges completed, reasons for the others."""
    format = fields.String(required=True)
    market = fields.Raw(allow_none=True)
    status = fields.String(required=True)
    value = Number(required=True)
    cost = fields.String(required=True)
    challenges = fields.List(fields.Dict(), required=True)
    awards = fields.List(fields.Dict(), required=True)
    flows = fields.List(fields.Dict(), required=True)
    pledges = fields.List(fields.Dict(), required=True)
    unfunded = fields.List(fields.Dict(), required=True)
    solver = fields.Dict()


class RunAllocation(Schema):
    run = fields.Nested(RunOut, required=True)
    allocation = fields.Nested(AllocationDocument, required=True)


def money_attributes(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """OpenAPI for the services' Money field: a decimal string (integers are accepted too, as in the file)."""
    if isinstance(field, market_schemas.Money):
        return {"type": "string", "pattern": MONEY_PATTERN, "example": "1250.50"}
    return {}

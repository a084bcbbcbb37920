"""marshmallow schemas for the payloads of the services: types and ranges only, no database.

Field names and meanings are those of the market format (`pledge.amount`, `bid.items[].price`...).
Money arrives as the format's money (decimal string or integer) and leaves as integer cents;
`load()` turns marshmallow's nested messages into `InvalidInput({"items[0].price": "..."})`.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from solver.bounds import (CHALLENGE_SHARE, LOAD, MATCH, MAX_QUANTITY, PROBABILITY, SHARE, VALUE, Bound,
                           money_problem)
from solver.ids import COMPONENT_KEY_PATTERN, ID_CHARACTERS, ID_PATTERN
from solver.money import MoneyError, format_money, parse_money

from .errors import InvalidInput
from .text import text_problem

AnySchema = TypeVar("AnySchema", bound=Schema)

ID_MESSAGE = f"invalid id: {ID_CHARACTERS}"


class Text(fields.String):
    """Text as market.text takes it: no control characters (a multi-line one may hold tabs and line
    breaks), no unpaired surrogates."""

    def __init__(self, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, self.multiline)
        if problem:
            raise ValidationError(problem)
        return text


class Whole(validate.Regexp):
    """A pattern the whole value must match: marshmallow's Regexp uses re.match, whose `$` also matches
    before a final newline ("p\n" would pass as an id)."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def Id(**kwargs: Any) -> fields.String:
    return fields.String(validate=Whole(ID_PATTERN, error=ID_MESSAGE), **kwargs)


def Quantity(error: str, **kwargs: Any) -> fields.Integer:
    """Whole units, from 1 to the engine's MAX_QUANTITY (`error` for those below 1)."""
    return fields.Integer(strict=True, validate=validate.And(
        validate.Range(min=1, error=error),
        validate.Range(max=MAX_QUANTITY, error=f"must be at most {MAX_QUANTITY:,}")), **kwargs)


class Within(validate.Validator):
    """The engine's bound on a number (solver/bounds.py)."""

    def __init__(self, bound: Bound) -> None:
        self.bound = bound

    def __call__(self, value: Any) -> Any:
        problem = self.bound.problem(value)
        if problem is not None:
            raise ValidationError(problem)
        return value


def Probability(bound: Bound = PROBABILITY, **kwargs: Any) -> fields.Float:
    return fields.Float(validate=validate.And(
        validate.Range(min=0, max=1, min_inclusive=False, error="must be in (0, 1]"), Within(bound)), **kwargs)


def NonNegative(bound: Bound, **kwargs: Any) -> fields.Float:
    return fields.Float(validate=validate.And(validate.Range(min=0, error="must be >= 0"), Within(bound)), **kwargs)


class Money(fields.Field):
    """The format's money in, integer cents out; never a float."""

    def __init__(self, positive: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.positive = positive

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> int:
        try:
            cents = parse_money(value)
        except MoneyError as exc:
            raise ValidationError(str(exc)) from None
        if self.positive and cents == 0:
            raise ValidationError("must be greater than 0")
        problem = money_problem(cents)
        if problem is not None:
            raise ValidationError(problem)
        return cents

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_money(value)


def Tags() -> fields.List:
    return fields.List(Text(validate=validate.Length(min=1, max=200)), load_default=list)


class ScopeSchema(Schema):
    """Version 1: a component is in scope when it matches any of challenges, components, tags. Version 1.1
    narrows: its challenge must carry every tag of `all_tags` and none of `exclude_tags` (solver.market.Scope)."""
    challenges = fields.List(Id(), load_default=list)
    components = fields.List(fields.String(validate=Whole(
        COMPONENT_KEY_PATTERN, error='expected "<challenge id>/<component id>"')), load_default=list)
    tags = Tags()
    all_tags = Tags()
    exclude_tags = Tags()


class ConditionSchema(Schema):
    """Version 1.1: "I pay only if they pay": `funder` (its key in the round) pays at least `min` into every
    challenge this pledge pays into."""
    funder = Id(required=True)
    min = Money(positive=True, required=True)



class PledgeSchema(Schema):
    id = Id(required=True)
    funder = Id()                        # only for trusted callers (the command line, imports)
    amount = Money(positive=True, required=True)
    scope = fields.Nested(ScopeSchema, allow_none=True)
    max_share = Probability(SHARE, allow_none=True)
    match = fields.Float(allow_none=True, validate=validate.And(
        validate.Range(min=0, min_inclusive=False, error="must be > 0"), Within(MATCH)))
    listed = fields.Boolean()            # its funder shown by name with its money on the public pages
    rollover = fields.Boolean()          # money that comes back rolls into the programme's next round (issue 18)
    min_spend = Money(positive=True, allow_none=True)
    max_challenge_share = Probability(CHALLENGE_SHARE, allow_none=True)
    # An empty list, like null, means none (a market file writes the key only with at least one).
    conditions = fields.List(fields.Nested(ConditionSchema), allow_none=True)

    @validates_schema
    def consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        """min_spend within the amount (when both are given here: a change checks the stored amount too),
        each funder named once. Whether the funders exist is the service's to say."""
        amount, least = data.get("amount"), data.get("min_spend")
        if amount is not None and least is not None and least > amount:
            raise ValidationError(f"must be at most the amount ({format_money(amount)})", "min_spend")
        seen: dict[str, int] = {}
        for i, condition in enumerate(data.get("conditions") or []):
            if condition["funder"] in seen:
                raise ValidationError(f'funder "{condition["funder"]}" is named already in '
                                      f'conditions[{seen[condition["funder"]]}]', f"conditions[{i}].funder")
            seen[condition["funder"]] = i


class BidItemSchema(Schema):
    component = fields.String(required=True, validate=Whole(
        COMPONENT_KEY_PATTERN, error='expected "<challenge id>/<component id>"'))
    quantity = Quantity(allow_none=True, error="must be a whole number >= 1")
    price = Money(required=True)


class BidSchema(Schema):
    id = Id(required=True)
    actor = Id()                         # only for trusted callers
    items = fields.List(fields.Nested(BidItemSchema), required=True,
                        validate=validate.Length(min=1, error="a bid needs at least one item"))
    reliability = Probability(allow_none=True)
    # Named like Schema.load, which it does not hide: marshmallow's metaclass takes fields off the class.
    load = NonNegative(LOAD, load_default=0)  # type: ignore[assignment]
    exclusive_group = Text(allow_none=True, validate=validate.Length(min=1, max=200))
    # Issue 18: if it loses, it stands by this many days after the clearing is committed (null: no offer), at its
    # own price or at `standby_price` for the whole bundle.
    standby_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(
        min=1, max=3650, error="a number of days from 1 to 3650"))
    standby_price = Money(allow_none=True)

    @validates_schema
    def standby_price_needs_days(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("standby_price") is not None and data.get("standby_days") is None:
            raise ValidationError("a standby price needs the days the bid stands by (standby_days)", "standby_price")

    @validates_schema
    def distinct_components(self, data: dict[str, Any], **kwargs: Any) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(data.get("items", [])):
            if item["component"] in seen:
                raise ValidationError(f'component "{item["component"]}" repeats items[{seen[item["component"]]}]',
                                      f"items[{i}].component")
            seen[item["component"]] = i


class ComponentSchema(Schema):
    id = Id(required=True)
    title = Text(allow_none=True)
    unit = Text(allow_none=True)
    quantity = Quantity(load_default=1, error="must be >= 1")
    critical = fields.Boolean(load_default=True, truthy={True}, falsy={False})
    value = NonNegative(VALUE, load_default=0)
    requires = fields.List(Id(), load_default=list)
    min_reliability = Probability(allow_none=True)
    max_unit_price = Money(allow_none=True)


class ChallengeSchema(Schema):
    id = Id(required=True)
    title = Text(allow_none=True)
    tags = fields.List(Text(validate=validate.Length(min=1, max=200)), load_default=list)
    value = NonNegative(VALUE, load_default=0)
    reliability = Probability(allow_none=True)
    components = fields.List(fields.Nested(ComponentSchema), required=True,
                             validate=validate.Length(min=1, error="a challenge needs at least one component"))

    @validates_schema
    def components_consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        components = data.get("components", [])
        keys = [c["id"] for c in components]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise ValidationError(f'duplicate component id "{key}"', f"components[{i}].id")
        for i, component in enumerate(components):
            for r, target in enumerate(component.get("requires", [])):
                if target not in keys or target == component["id"]:
                    raise ValidationError(f'unknown component "{target}" in this challenge',
                                          f"components[{i}].requires[{r}]")
            if component.get("critical", True) and component.get("value", 0):
                raise ValidationError("only a non-critical component may carry a value", f"components[{i}].value")
        if components and not any(c.get("critical", True) for c in components):
            raise ValidationError("at least one component must be critical", "components")


class ExclusionSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=500, error="give a reason (1 to 500 characters)"))

    @pre_load
    def strip(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            return {**data, "reason": data["reason"].strip()}
        return data


def _whole(low: int, high: int, what: str) -> fields.Integer:
    message = f"{what}: a whole number from {low} to {high}"
    return fields.Integer(strict=True, validate=validate.Range(low, high, error=message),
                          error_messages={"invalid": message, "null": message})


class TermsSchema(Schema):
    """A round's settlement terms (issue 17); every field optional when changing them."""
    holdback_percent = _whole(0, 50, "the percent of each item's price held back")
    service_days = _whole(0, 3650, "the days the thing must keep working before the holdback is paid")
    review_days = _whole(1, 365, "the days a verifier has to review a delivery report")
    delivery_days = _whole(1, 3650, "the days from the commit to the deadline of each delivery report")
    holdback_report_days = _whole(1, 365, "the days an actor has to report on a holdback once its service "
                                          "period is over")


def _coordinate(limit: int, what: str) -> fields.Float:
    message = f"{what} in degrees, from -{limit} to {limit}"
    return fields.Float(load_default=None, allow_none=True, allow_nan=False,
                        validate=validate.Range(-limit, limit, error=message),
                        error_messages={"invalid": message})


class ReportSchema(Schema):
    """An actor's delivery report on a milestone (issue 17); the files come beside it."""
    quantity = _whole(1, 10**9, "how many units were delivered")
    note = Text(multiline=True, load_default="", validate=validate.Length(max=4000, error="at most 4000 characters"))
    latitude = _coordinate(90, "the latitude")
    longitude = _coordinate(180, "the longitude")

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            missing = "latitude" if data.get("latitude") is None else "longitude"
            raise ValidationError({missing: "give both coordinates, or neither"})


class ReviewSchema(Schema):
    """A verifier's decision on a delivery report: accept (all, or fewer units: paid pro rata) or reject."""
    decision = fields.String(required=True, validate=validate.OneOf(
        ["accept", "reject"], error='"accept" or "reject"'))
    quantity = fields.Integer(strict=True, load_default=None, allow_none=True,
                              validate=validate.Range(1, 10**9, error="how many units are accepted: at least 1"),
                              error_messages={"invalid": "how many units are accepted: a whole number"})
    reason = Text(multiline=True, load_default="", validate=validate.Length(max=2000, error="at most 2000 characters"))


class VerifierSchema(Schema):
    """Assigning a verifier: its account's email, and a challenge key (none: the whole round)."""
    email = Text(required=True, validate=validate.Length(min=3, max=254, error="an account's email"))
    challenge = Text(load_default=None, allow_none=True, validate=validate.Length(max=64))


class DisputeSchema(ExclusionSchema):
    """An actor disputes a rejection or a deduction: why (an analyst reads it, with the evidence)."""
    reason = Text(required=True, validate=validate.Length(min=1, max=2000,
                                                          error="say why the decision is wrong (1 to 2000 characters)"))


class DecisionSchema(Schema):
    """An analyst decides a dispute: for the actor (paid `release` of the disputed amount, all by default; the
    rest goes back to the funders) or for the verifier; with a note both parties read."""
    decision = fields.String(required=True, validate=validate.OneOf(
        ["actor", "verifier"], error='"actor" or "verifier"'))
    release = Money(positive=True, load_default=None, allow_none=True)
    note = Text(required=True, validate=validate.Length(min=1, max=2000,
                                                        error="say why (1 to 2000 characters): both parties read it"))


class DepositSchema(Schema):
    """Money a funder paid in for a pledge (issue 17): how much, and the transfer's reference."""
    amount = Money(positive=True, required=True)
    reference = Text(load_default="", validate=validate.Length(max=200, error="at most 200 characters"))


class RoundSchema(Schema):
    name = Text(load_default="", validate=validate.Length(max=200))
    currency = fields.String(load_default="USD", validate=Whole(
        r"^[A-Z]{3}$", error='not an ISO 4217 code such as "USD"'))
    note = Text(multiline=True, allow_none=True)


@cache
def made(cls: type[AnySchema], exclude: tuple[str, ...] = ()) -> AnySchema:
    """The one instance of a schema class (leaving out `exclude`): a marshmallow schema deep-copies its fields
    when it is made, about a tenth of a millisecond on each write, and loads and dumps without changing itself
    (everything it keeps is set when it is made), so one instance serves every request and thread."""
    return cls(exclude=exclude)


def load(schema: Schema, data: Any, partial: bool | tuple[str, ...] = False) -> dict[str, Any]:
    """Validate `data`; raise InvalidInput naming every bad field with its path."""
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise InvalidInput(flatten(exc.messages)) from None


def flatten_messages(messages: Any, path: str = "") -> dict[str, list[str]]:
    """marshmallow's (or webargs') nested messages as {"items[0].price": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            for k, v in flatten_messages(value, sub).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            for k, v in flatten_messages(value, path).items():
                out.setdefault(k, []).extend(v)
    else:
        out.setdefault(path, []).append(str(messages))
    return out


def flatten(messages: Any, path: str = "") -> dict[str, str]:
    """marshmallow's nested messages as {"items[0].price": "message; message"}."""
    return {k: "; ".join(v) for k, v in flatten_messages(messages, path).items()}

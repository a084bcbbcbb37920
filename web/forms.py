"""Forms: types and shapes only (the services check the rest); every field keeps what the user typed.

Money fields accept "1250.5", "1,250.50" and " 1250 " and refuse "-3", "1e9", "abc", "1,25.00": the text
loses its thousands separators (only between groups of three digits) and goes to solver.money.parse_money,
which takes plain decimals only. Cents are never floats.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (BooleanField, SelectChoice, Field, FieldList, Form, FormField, MultipleFileField, PasswordField,
                     RadioField, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import EqualTo, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from market.services.passwords import MIN_LENGTH
from solver.bounds import LOAD, MATCH, MAX_QUANTITY, PROBABILITY, CHALLENGE_SHARE, SHARE, VALUE, Bound, money_problem
from solver.money import MoneyError, format_money, parse_money

_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")   # ASCII digits; matched whole


def parse_money_input(text: str | None) -> int:
    """People's money text to cents; ValueError with a message for people."""
    raw = (text or "").strip().replace(" ", "")
    if not raw:
        raise ValueError("enter an amount such as 1,250.50")
    if raw.startswith("-"):
        raise ValueError("must not be negative")
    if "," in raw:
        if not _GROUPED.fullmatch(raw):
            raise ValueError("use commas only between groups of three digits, as in 1,250.50")
        raw = raw.replace(",", "")
    if re.search(r"[eE]", raw):
        raise ValueError("write the amount in full digits, as in 1250.50 (no exponents)")
    try:
        cents = parse_money(raw)
    except MoneyError as exc:
        message = str(exc)
        if "fraction digits" in message:
            raise ValueError("at most two digits after the decimal point") from None
        if "above" in message:
            raise ValueError("too large") from None
        raise ValueError("not an amount: write digits such as 1,250.50") from None
    problem = money_problem(cents)
    if problem is not None:
        raise ValueError(problem)
    return cents


class MoneyField(StringField):
    """Text in, `.cents` out (None when left empty and not required)."""
    cents: int | None = None

    def pre_validate(self, form: Any) -> None:
        self.cents = None
        if not (self.data or "").strip():
            return
        try:
            self.cents = parse_money_input(self.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class NumberText(StringField):
    """A decimal number typed by a person, kept as text; `.number` is a Decimal (None when empty)."""
    number: Decimal | None = None

    def __init__(self, *args: Any, low: Decimal | None = None, high: Decimal | None = None,
                 low_open: bool = False, bound: Bound | None = None, example: str = "0.95", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.low, self.high, self.low_open, self.bound, self.example = low, high, low_open, bound, example

    def pre_validate(self, form: Any) -> None:
        self.number = None
        text = (self.data or "").strip()
        if not text:
            return
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?|\.[0-9]+", text):
            raise ValidationError("must not be negative" if text.startswith("-")
                                  else f"enter a number such as {self.example}")
        value = Decimal(text)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise ValidationError(f"must be {'above' if self.low_open else 'at least'} {self.low}")
        if self.high is not None and value > self.high:
            raise ValidationError(f"must be at most {self.high}")
        problem = self.bound.problem(float(value)) if self.bound is not None else None
        if problem is not None:
            raise ValidationError(problem)
        self.number = value


def check_quantity(field: Field) -> None:
    """Whole units as people type them (blank: the default), from 1 to the engine's MAX_QUANTITY."""
    text = (field.data or "").strip()
    if not text:
        return
    if not re.fullmatch(r"[1-9][0-9]*", text):
        raise ValidationError("a whole number of at least 1")
    if len(text) > len(str(MAX_QUANTITY)) or int(text) > MAX_QUANTITY:
        raise ValidationError(f"at most {MAX_QUANTITY:,}")


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class Rows(FieldList):
    """A FieldList whose empty padding rows read nothing from the request (wtforms' own padding re-reads
    the submitted rows when their numbers have gaps, duplicating them)."""

    min_entries: int  # set by FieldList.__init__ (wtforms ships no types)

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        wanted, self.min_entries = self.min_entries, 0
        try:
            if data is None:
                super().process(formdata, extra_filters=extra_filters)
            else:
                super().process(formdata, data, extra_filters)
        finally:
            self.min_entries = wanted
        while len(self.entries) < self.min_entries:
            self._add_entry(None)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:   # unknown choices are reported by the service with the name
        return None


PASSWORD_RULES = (f"At least {MIN_LENGTH} characters; not a common password, and not your email or name. "
                  "A few words make a good one.")


class SignupForm(FlaskForm):
    name = StringField("Name or organisation", validators=[InputRequired(), Length(max=200)])
    email = StringField("Email", validators=[InputRequired(),
                                             Regexp(r"^[^@\s]+@[^@\s]+$", message="not an email address"),
                                             Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired()], description=PASSWORD_RULES)
    role = RadioField("I am a", choices=[SelectChoice("funder", "Funder: I pledge money to challenges"),
                                         SelectChoice("actor", "Actor: I bid to deliver components")],
                      validators=[InputRequired(message="choose funder or actor")])


# max_share as the pledge form takes it: a percentage.
SHARE_PERCENT = Bound(SHARE.what, SHARE.low * 100, SHARE.high * 100)
CHALLENGE_SHARE_PERCENT = Bound(CHALLENGE_SHARE.what, CHALLENGE_SHARE.low * 100, CHALLENGE_SHARE.high * 100)


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[InputRequired()])
    password = PasswordField("Password", validators=[InputRequired()])


class NewPasswordForm(FlaskForm):
    """A new password typed twice (the service checks its strength)."""
    new_password = PasswordField("New password", validators=[InputRequired()], description=PASSWORD_RULES)
    confirm = PasswordField("New password again", validators=[InputRequired(), EqualTo(
        "new_password", message="the two new passwords differ")])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[InputRequired()])


class ForgotPasswordForm(FlaskForm):
    email = StringField("Email", validators=[InputRequired(), Length(max=254)])


class ConditionRowForm(Form):
    """One "only if this funder pays at least ... into the same project" row."""
    funder = SelectField("Funder", choices=[], validate_choice=False)
    min = MoneyField("pays at least")


class PledgeForm(FlaskForm):
    amount = MoneyField("Amount", validators=[InputRequired()],
                        description="The most this pledge pays in total, e.g. 1,250.50")
    challenges = MultiCheckboxField("Any of these challenges", choices=[])
    tags = MultiCheckboxField("Any of these tags", choices=[],
                              description="One ticked tag is enough: a challenge with any of them is in scope")
    components = MultiCheckboxField("Any of these components", choices=[])
    all_tags = MultiCheckboxField("And all of these tags", choices=[],
                                  description="The challenge must carry every tag ticked here (on its own, "
                                              "it picks from every challenge of the round)")
    exclude_tags = MultiCheckboxField("Never these tags", choices=[],
                                      description="A challenge with any tag ticked here is out of scope, "
                                                  "whatever else is ticked")
    max_share = NumberText("Max share of any one component (%)", low=Decimal(0), high=Decimal(100), low_open=True,
                           bound=SHARE_PERCENT, example="50",
                           description="Optional: pay at most this percentage of any one component's cost")
    max_challenge_share = NumberText("At most this share of any one project's budget (%)", low=Decimal(0),
                                     high=Decimal(100), low_open=True, bound=CHALLENGE_SHARE_PERCENT,
                                     example="75",
                                     description="Optional: in each challenge, pay at most this percentage of "
                                                 "its cost (the accepted prices of its components), e.g. 75")
    min_spend = MoneyField("Minimum spend",
                           description="Optional: pay nothing at all unless this pledge can pay at least this much "
                                       "in total, e.g. 100,000")
    conditions = Rows(FormField(ConditionRowForm), min_entries=3, max_entries=10)
    match = NumberText("Matching ratio", low=Decimal(0), low_open=True, bound=MATCH,
                       description="Optional: inside each challenge, pay at most this many times what "
                                   "non-matching pledges pay (1 = one for one)")
    listed = BooleanField("List me by name with this pledge on the public results",
                          description="Off: the public pages show this pledge's money only in totals "
                                      "(\"funded by N funders\"); only you and the analysts see where it went")
    rollover = BooleanField("Roll money that comes back into the programme's next round",
                            description="Unspent at the clearing, or refunded after an actor fails: pledged again, "
                                        "with this scope where it still applies, when the next round opens")

    def filled_conditions(self) -> list[tuple[int, ConditionRowForm]]:
        return [(row, entry.form) for row, entry in enumerate(self.conditions.entries)
                if (entry.form.funder.data or "").strip() or (entry.form.min.data or "").strip()]

    def scope_payload(self) -> dict[str, Any] | None:
        """The scope as the service takes it: the ticked lists (None when nothing is ticked: every challenge)."""
        scope = {k: list(getattr(self, k).data or []) for k in ("challenges", "components", "tags", "all_tags",
                                                                 "exclude_tags")}
        return {k: v for k, v in scope.items() if v} or None

    def payload(self) -> tuple[dict[str, Any], list[int]]:
        """The service payload and, for each of its conditions, its row in the form (for error messages).
        The optional fields go as None when left empty, which removes them from a pledge being changed."""
        conditions, rows = [], []
        for row, entry in self.filled_conditions():
            conditions.append({"funder": (entry.funder.data or "").strip(),
                               "min": "" if entry.min.cents is None else format_money(entry.min.cents)})
            rows.append(row)
        return ({"amount": "" if self.amount.cents is None else format_money(self.amount.cents),
                 "listed": bool(self.listed.data), "rollover": bool(self.rollover.data),
                 "scope": self.scope_payload(),
                 "max_share": None if self.max_share.number is None else float(self.max_share.number / 100),
                 "match": None if self.match.number is None else float(self.match.number),
                 "min_spend": None if self.min_spend.cents is None else format_money(self.min_spend.cents),
                 "max_challenge_share": (None if self.max_challenge_share.number is None
                                         else float(self.max_challenge_share.number / 100)),
                 "conditions": conditions or None}, rows)

    def validate_conditions(self, field: Field) -> None:
        for _, row in self.filled_conditions():
            if not (row.funder.data or "").strip():
                row.funder.errors = list(row.funder.errors) + ["choose the funder, or clear the amount"]
                raise ValidationError("")
            if not (row.min.data or "").strip():
                row.min.errors = list(row.min.errors) + ["enter the least this funder must pay, e.g. 50,000"]
                raise ValidationError("")


class BidItemForm(Form):
    component = SelectField("Component", choices=[], validate_choice=False)
    quantity = StringField("Quantity")
    price = MoneyField("Price")

    def validate_quantity(self, field: Field) -> None:
        check_quantity(field)


class BidForm(FlaskForm):
    items = Rows(FormField(BidItemForm), min_entries=4, max_entries=12)
    reliability = NumberText("Reliability", low=Decimal(0), high=Decimal(1), low_open=True, bound=PROBABILITY,
                             description="Optional: the probability you deliver, e.g. 0.95")
    load = NumberText("Load", low=Decimal(0), bound=LOAD,
                      description="Optional: how much of your capacity this bid uses")
    exclusive_group = StringField("Exclusive group", validators=[Optional(), Length(max=200)],
                                  description="Optional: of your bids with the same group, at most one wins")
    standby_days = StringField("Stand by for (days)", validators=[Optional()],
                               description="Optional: if this bid loses, it stays valid this many days after the "
                                           "clearing, as a backup called in if a winner fails")
    standby_price = MoneyField("Standby price", description="Optional: your price for the whole bundle on "
                                                            "standby (empty: the prices above)")

    def validate_standby_days(self, field: Field) -> None:
        text = (field.data or "").strip()
        if text and not (text.isascii() and text.isdigit() and 1 <= int(text) <= 3650):
            raise ValidationError("a number of days from 1 to 3650")
        if not text and (self.standby_price.data or "").strip():
            raise ValidationError("a standby price needs the days the bid stands by")

    def filled_items(self) -> list[tuple[int, BidItemForm]]:
        return [(row, entry.form) for row, entry in enumerate(self.items.entries)
                if (entry.form.component.data or "").strip() or (entry.form.price.data or "").strip()
                or (entry.form.quantity.data or "").strip()]

    def payload(self) -> tuple[dict[str, Any], list[int]]:
        """The service payload and, for each payload item, its row in the form (for error messages)."""
        items, rows = [], []
        for row, item in self.filled_items():
            entry: dict[str, Any] = {"component": (item.component.data or "").strip(),
                                     "price": "" if item.price.cents is None else format_money(item.price.cents)}
            if (item.quantity.data or "").strip():
                entry["quantity"] = int(item.quantity.data)
            items.append(entry)
            rows.append(row)
        return ({"items": items,
                 "reliability": None if self.reliability.number is None else float(self.reliability.number),
                 "load": 0 if self.load.number is None else float(self.load.number),
                 "exclusive_group": (self.exclusive_group.data or "").strip() or None,
                 "standby_days": int(self.standby_days.data) if (self.standby_days.data or "").strip() else None,
                 "standby_price": None if self.standby_price.cents is None else format_money(self.standby_price.cents)},
                rows)

    def validate_items(self, field: Field) -> None:
        for _, item in self.filled_items():
            if not (item.component.data or "").strip():
                item.component.errors = list(item.component.errors) + ["choose a component"]
                raise ValidationError("")
            if not (item.price.data or "").strip():
                item.price.errors = list(item.price.errors) + ["enter a price"]
                raise ValidationError("")
        if not self.filled_items():
            raise ValidationError("a bid needs at least one item: choose a component and a price")


class ComponentRowForm(Form):
    id = StringField("Id")
    title = StringField("Title")
    unit = StringField("Unit")
    quantity = StringField("Quantity")
    critical = BooleanField("Critical", default=True)
    value = NumberText("Value", low=Decimal(0), bound=VALUE)
    requires = StringField("Requires", description="ids of components of this challenge, comma-separated")
    min_reliability = NumberText("Min. reliability", low=Decimal(0), high=Decimal(1), low_open=True, bound=PROBABILITY)
    max_unit_price = MoneyField("Max unit price")

    def validate_quantity(self, field: Field) -> None:
        check_quantity(field)


class ChallengeForm(FlaskForm):
    id = StringField("Id", validators=[InputRequired()], description="letters, digits and _ . : - (e.g. kisumu-wells)")
    title = StringField("Title")
    tags = StringField("Tags", description="comma-separated, e.g. sdg:6.1, region:kenya")
    value = NumberText("Value", low=Decimal(0), bound=VALUE, description="impact when completed, e.g. people served")
    reliability = NumberText("Reliability target", low=Decimal(0), high=Decimal(1), low_open=True, bound=PROBABILITY,
                             description="Optional, e.g. 0.8")
    components = Rows(FormField(ComponentRowForm), min_entries=6, max_entries=30)

    def payload(self) -> tuple[dict[str, Any], list[int]]:
        rows, components = [], []
        for row, entry in enumerate(self.components.entries):
            f = entry.form
            if not (f.id.data or "").strip():
                continue
            c: dict[str, Any] = {"id": f.id.data.strip(), "critical": bool(f.critical.data)}
            for name in ("title", "unit"):
                if (getattr(f, name).data or "").strip():
                    c[name] = getattr(f, name).data.strip()
            if (f.quantity.data or "").strip():
                c["quantity"] = int(f.quantity.data)
            if f.value.number is not None:
                c["value"] = float(f.value.number)
            requires = [r.strip() for r in (f.requires.data or "").split(",") if r.strip()]
            if requires:
                c["requires"] = requires
            if f.min_reliability.number is not None:
                c["min_reliability"] = float(f.min_reliability.number)
            if f.max_unit_price.cents is not None:
                c["max_unit_price"] = format_money(f.max_unit_price.cents)
            components.append(c)
            rows.append(row)
        data: dict[str, Any] = {"id": (self.id.data or "").strip(), "components": components,
                                "tags": [t.strip() for t in (self.tags.data or "").split(",") if t.strip()]}
        if (self.title.data or "").strip():
            data["title"] = self.title.data.strip()
        if self.value.number is not None:
            data["value"] = float(self.value.number)
        if self.reliability.number is not None:
            data["reliability"] = float(self.reliability.number)
        return data, rows


class RoundForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    currency = StringField("Currency", default="USD", validators=[InputRequired()],
                           description="ISO 4217 code, e.g. USD, EUR, KES")
    note = TextAreaField("Note")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class ClearForm(FlaskForm):
    """Clear a round as a job: the solver, the time limit for the whole clearing and the relative gap (the
    services check them again; blank takes the defaults for the round's size)."""
    solver = SelectField("Solver", choices=choices([("cbc", "CBC"), ("highs", "HiGHS")]), default="cbc")
    time_limit = NumberText("Time limit (seconds)", low=Decimal(0), low_open=True, high=Decimal(3600),
                            validators=[Optional()])
    gap = NumberText("Gap", low=Decimal(0), validators=[Optional()],
                     description="relative, e.g. 0.0001 for 0.01%; blank: the best allocation, proven")

    def validate_gap(self, field: Field) -> None:
        if field.number is not None and field.number >= 1:
            raise ValidationError("must be below 1 (a gap of 0.01 is 1%)")


class TermsForm(FlaskForm):
    """A round's settlement terms (the service checks the numbers and says what is wrong)."""
    holdback_percent = StringField("Holdback, % of each item's price",
                                   description="Paid after the service period, on a second verification")
    service_days = StringField("Service period, days", description="How long the thing must keep working")
    review_days = StringField("Review time, days", description="A verifier's time to review a delivery report")
    delivery_days = StringField("Delivery time, days",
                                description="From the commit to the deadline of each delivery report")
    holdback_report_days = StringField("Holdback report time, days",
                                       description="How long an actor has to report once the service period is over")

    def values(self) -> dict[str, object]:
        """The fields as the service takes them: whole numbers where they are, the text as typed otherwise."""
        return {name: whole_or_text(getattr(self, name).data)
                for name in ("holdback_percent", "service_days", "review_days", "delivery_days",
                             "holdback_report_days")}


def whole_or_text(text: str | None) -> object:
    """A whole number where the text is one, else the text as typed (the service says what is wrong)."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() else text


def number_or_none(text: str | None) -> object:
    """Blank is None; anything else goes to the service as typed, which reads the number or says why not."""
    text = (text or "").strip()
    return text or None


class ReportForm(FlaskForm):
    """An actor's delivery report on its milestone: the quantity, a note, optional coordinates and files."""
    quantity = StringField("Quantity delivered", validators=[InputRequired(message="how many units were delivered")])
    note = TextAreaField("Note", validators=[Length(max=4000)],
                         description="What was done, where, and anything the verifier should know")
    latitude = StringField("Latitude", description="Optional, in degrees, e.g. -1.3733")
    longitude = StringField("Longitude", description="Optional, in degrees, e.g. 38.0106")
    files = MultipleFileField("Evidence", description="Photos (JPEG, PNG) or PDF documents: at most 5 files of "
                                                      "10 MB each")

    def values(self) -> dict[str, object]:
        return {"quantity": whole_or_text(self.quantity.data), "note": self.note.data or "",
                "latitude": number_or_none(self.latitude.data), "longitude": number_or_none(self.longitude.data)}


class ReviewForm(FlaskForm):
    """A verifier's decision on a delivery report."""
    decision = RadioField("Decision", choices=[SelectChoice("accept", "Accept"), SelectChoice("reject", "Reject")],
                          validators=[InputRequired(message="accept or reject")])
    quantity = StringField("Quantity accepted", description="Blank: all that was reported; fewer: paid pro rata")
    reason = TextAreaField("Reason", validators=[Length(max=2000)],
                           description="Required to reject, or to accept fewer units than awarded")

    def values(self) -> dict[str, object]:
        quantity = (self.quantity.data or "").strip()
        return {"decision": self.decision.data, "quantity": whole_or_text(quantity) if quantity else None,
                "reason": self.reason.data or ""}


class DisputeForm(FlaskForm):
    """An actor disputes a verifier's rejection or deduction."""
    reason = TextAreaField("Why the decision is wrong", validators=[InputRequired(message="say why"),
                                                                     Length(max=2000)],
                           description="An analyst reads it with the evidence and decides; until then the "
                                       "disputed money stays in escrow")


class DecisionForm(FlaskForm):
    """An analyst decides a dispute."""
    decision = RadioField("Decision", choices=[
        SelectChoice("actor", "For the actor: pay it (the rest goes back to the funders)"),
        SelectChoice("verifier", "For the verifier: the decision stands")],
        validators=[InputRequired(message="choose for whom")])
    release = MoneyField("Pay the actor", validators=[Optional()],
                         description="For the actor: how much of the disputed amount (blank: all of it)")
    note = TextAreaField("Note", validators=[InputRequired(message="say why: both parties read it"),
                                             Length(max=2000)])

    def values(self) -> dict[str, object]:
        return {"decision": self.decision.data,
                "release": None if self.release.cents is None else format_money(self.release.cents),
                "note": self.note.data or ""}


class WriteOffForm(FlaskForm):
    """An analyst writes a milestone off: what it holds in escrow goes back to its funders."""
    reason = StringField("Reason", validators=[InputRequired(message="give a reason"), Length(max=500)])


class VerifierForm(FlaskForm):
    """An analyst assigns a verifier to the round or to one of its challenges."""
    email = StringField("Verifier's account email", validators=[InputRequired(message="give an account's email"),
                                                                Length(max=254)])
    challenge = SelectField("On", choices=[], validate_choice=False)


class DepositForm(FlaskForm):
    """A funder (or an admin, for a bank transfer) records money paid in for a pledge (issue 17)."""
    amount = MoneyField("Amount paid in", validators=[InputRequired(message="give the amount paid in")],
                        description="At most what the pledge owes, e.g. 1,250.50")
    reference = StringField("Transfer reference", validators=[Length(max=200)],
                            description="Your bank's or mobile-money reference, so the payment can be traced")


class ExclusionForm(FlaskForm):
    """An analyst leaves a pledge or a bid out of the clearing: why (the service checks it again)."""
    reason = StringField("Reason", validators=[InputRequired(message="give a reason"), Length(max=500)])


def attach_errors(form: FlaskForm, problems: Mapping[str, str],
                  resolve: Callable[[str], Field | None]) -> None:
    """Put a service's InvalidInput messages next to their fields; the rest go on top of the form."""
    form.service_errors = True
    for path, message in problems.items():
        field = resolve(path)
        if field is None:
            form.form_errors.append(f"{path}: {message}" if path else message)
        else:
            field.errors = list(field.errors or []) + [message]


def row_resolver(form: FlaskForm, list_name: str, rows: list[int],
                 top: dict[str, str]) -> Callable[[str], Field | None]:
    """Paths such as "items[2].price" -> the field of the form's row for payload item 2; "amount" -> top."""
    def resolve(path: str) -> Field | None:
        m = re.match(rf"^{list_name}\[(\d+)\]\.?([a-z_]*)", path)
        if m:
            index, name = int(m.group(1)), m.group(2) or None
            if index < len(rows):
                entry = getattr(form, list_name).entries[rows[index]].form
                if name and hasattr(entry, name):
                    return getattr(entry, name)
                return getattr(entry, "id", None) or getattr(entry, "component", None)
            return None
        head = re.split(r"[.\[]", path, maxsplit=1)[0] if path else ""
        key = top.get(path, top.get(head))
        return getattr(form, key) if key else None
    return resolve


def status(form: FlaskForm) -> int:
    """400 when the form is shown again with errors (its own or a service's), else 200."""
    return 400 if form.errors or form.form_errors or getattr(form, "service_errors", False) else 200


class TenderPledgeForm(FlaskForm):
    """A funder adds money to the repair of a failed award, during its re-tender (issue 18)."""
    amount = MoneyField("Amount", validators=[InputRequired(message="give the amount")],
                        description="New money for these challenges' repair only, e.g. 5,000")


class TenderForm(FlaskForm):
    """An analyst opens a failure's re-tender for some days (issue 18)."""
    days = StringField("Days", validators=[InputRequired(message="give the days")], default="14",
                       description="How long actors may bid and funders add money, 1 to 60")

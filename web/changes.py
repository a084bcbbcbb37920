"""A change made from a small form (a button, or a field or two): the form checked, the service called in one
transaction, and the outcome said as a flash message on the page the user goes back to."""
from __future__ import annotations

from collections.abc import Callable

from flask import flash
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from market.errors import InvalidInput, WrongState

from .db import sessions


def reasoned_change(form: FlaskForm, change: Callable[[Session], None], back: ResponseReturnValue, failed: str,
                    success: str | Callable[[], str]) -> ResponseReturnValue:
    """Run `change` in one transaction if `form` holds: flash what was refused and why (`failed`: "...was not
    done"), or `success`; then `back`."""
    if not form.validate_on_submit():
        problems = [m for messages in form.errors.values() for m in messages]
        flash(f"{failed}: {'; '.join(problems)}.", "error")
        return back
    try:
        with sessions().begin() as session:
            change(session)
    except InvalidInput as exc:
        flash(f"{failed}: {'; '.join(exc.fields.values())}.", "error")
    except WrongState as exc:
        flash(f"{failed}: {exc}.", "error")
    else:
        flash(success if isinstance(success, str) else success(), "success")
    return back

"""The only code that writes to the database. Plain functions taking the session first and the acting
user second (None: the trusted command line, audited as "cli"); they add and flush, never commit:
the caller owns the transaction (`with sessions.begin() as session: ...`). Refusals are
`market.errors` exceptions. `clear_round` alone takes the sessionmaker: it solves between two
transactions.
"""
from .access import bid_for, pledge_for, visible_bids, visible_pledges
from .accounts import create_user, get_user, link_participant
from .bids import bid, change_bid, withdraw_bid
from .clearing import Cleared, clear_round, result_run, runs
from .pledges import change_pledge, pledge, withdraw_pledge
from .rounds import add_challenge, close_round, create_round, list_rounds, open_round, reopen_round
from .transfer import export_round, import_market

__all__ = [
    "Cleared", "add_challenge", "bid", "bid_for", "change_bid", "change_pledge", "clear_round", "close_round",
    "create_round", "create_user", "export_round", "get_user", "import_market", "link_participant", "list_rounds",
    "open_round", "pledge", "pledge_for", "reopen_round", "result_run", "runs", "visible_bids", "visible_pledges",
    "withdraw_bid", "withdraw_pledge",
]

from .challenges import change_challenge  # noqa: E402  (added for the web)
from .signup import sign_up, user_by_email  # noqa: E402

__all__ += ["change_challenge", "sign_up", "user_by_email"]

from . import idempotency  # noqa: E402  (added for the JSON API)
from .tokens import create_token, list_tokens, revoke_token, user_for_token  # noqa: E402

__all__ += ["create_token", "idempotency", "list_tokens", "revoke_token", "user_for_token"]

from .exclusion import exclude, include  # noqa: E402  (an analyst's way out of a stuck round)

__all__ += ["exclude", "include"]

from . import credentials, passwords  # noqa: E402  (accounts: sessions, password changes and resets)
from .credentials import (  # noqa: E402
    change_password, confirm_email, request_email_confirmation, request_password_reset, reset_password)
from .downloads import record_download  # noqa: E402
from .logins import end_sessions, log_in, log_out, session_user  # noqa: E402

__all__ += ["change_password", "confirm_email", "credentials", "end_sessions", "log_in", "log_out", "passwords",
            "record_download", "request_email_confirmation", "request_password_reset", "reset_password", "session_user"]

from .conditions import condition_funders  # noqa: E402  (market format 1.1)
from .fixing import fix_bid, unfix_bid  # noqa: E402

__all__ += ["condition_funders", "fix_bid", "unfix_bid"]
from .settlement import check_ledger, commit_run, record_deposit  # noqa: E402  (issue 17: the ledger)
__all__ += ["check_ledger", "commit_run", "record_deposit"]
from . import delivery, verification  # noqa: E402  (issue 17: reports, verifiers, releases)
from .delivery import review_report, submit_report  # noqa: E402
from .verification import assign_verifier, unassign_verifier  # noqa: E402
__all__ += ["assign_verifier", "delivery", "review_report", "submit_report", "unassign_verifier", "verification"]
from . import disputes, notifications, progress, statements  # noqa: E402  (issue 17: after the clearing)
from .disputes import decide_dispute, open_dispute, write_off  # noqa: E402
__all__ += ["decide_dispute", "disputes", "notifications", "open_dispute", "progress", "statements", "write_off"]
from . import bids, repair, rollover, rounds, tender  # noqa: E402  (issue 18: failures, repairs, rollover)
__all__ += ["bids", "repair", "rollover", "rounds", "tender"]

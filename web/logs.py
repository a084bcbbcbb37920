"""What the server's own request log never holds: the one-time token of a password-reset or email-confirmation
link (its path, /reset/<token> or /confirm/<token>, would otherwise be written by werkzeug's request log on
every `swarm serve`)."""
from __future__ import annotations

import logging
import re

_TOKEN_LINK = re.compile(r"/(reset|confirm)/[^\s?\"]+")
HIDDEN = r"/\1/[token hidden]"


class HideResetTokens(logging.Filter):
    """Rewrites a record's text with every reset or confirmation link's token hidden; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "/reset/" in text or "/confirm/" in text:
            record.msg, record.args = _TOKEN_LINK.sub(HIDDEN, text), ()
        return True


def hide_reset_tokens(logger: logging.Logger) -> None:
    if not any(isinstance(f, HideResetTokens) for f in logger.filters):
        logger.addFilter(HideResetTokens())

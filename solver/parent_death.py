"""A solver process dies with the process that started it, even one killed outright (SIGKILL), so that
no solver outlives the request or job it ran for: CBC's process (backends/cbc.py) and the worker
processes that clear a market's parts (parts.py). Linux asks the kernel for it (PR_SET_PDEATHSIG);
elsewhere nothing is done here.

The signal comes when the *thread* that started the child ends: both start their children from a
thread that waits for them, so that thread ends only with its process.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1                   # <linux/prctl.h>


def _load_prctl() -> Any:
    """libc's prctl where there is one, looked up once here: a child between fork and exec may do little."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def die_with_parent(parent: int) -> None:
    """In a child process: be killed when the thread that started it ends, and now if `parent` (its pid)
    already ended before this call."""
    if _prctl is None:
        return
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def supported() -> bool:
    return _prctl is not None

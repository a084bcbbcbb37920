"""Analyst tools on top of the clearing engine: compare, explain, what-if, diff, simulate, sweep, report.

Each module works on frozen `Market` objects and `swarm-allocation/1` documents, never prints, and
raises `AnalysisError` (a one-line message) for input it cannot use; `solver.cli` turns that into exit 2.
"""
from .common import AnalysisError

__all__ = ["AnalysisError"]

"""Where the agent's log lines go: journald natively under systemd, else stderr."""

from __future__ import annotations

import logging
import sys

from edge.service.journal import JournalHandler, JournalSender, journal_wanted

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def setup_logging(target: str = "auto", level: str = "info") -> str:
    """Send the ``edge`` loggers to journald (``journal``, or ``auto`` when stderr is the journal) or stderr.

    Returns where they went. Under systemd, stderr is already the journal, so ``auto`` only
    adds what the native protocol gives: the structured fields of each event.
    """
    logger = logging.getLogger("edge")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    handler: logging.Handler | None = None
    problem = None
    if target == "journal" or (target == "auto" and journal_wanted()):
        try:
            handler = JournalHandler(JournalSender())
            handler.setFormatter(logging.Formatter("%(message)s"))
        except OSError as exc:  # no AF_UNIX sockets, as under RestrictAddressFamilies= without AF_UNIX
            problem = f"journald's socket cannot be used ({exc}); logging to stderr, without journal fields"
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(_LEVELS[level])
    logger.propagate = False
    if problem is not None:
        logger.warning("%s", problem)
    return "journal" if isinstance(handler, JournalHandler) else "stderr"

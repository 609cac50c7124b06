"""Unexpected errors: a short message with a reference on the page, the traceback in the log.

Streamlit would otherwise draw the exception, its traceback (server paths, a document's
fields) and search buttons. `contain` wraps each page body and each fragment: the error is
logged as one JSON line (ERROR, with `reference` and the traceback, secrets redacted by
`shared.logs`), and the operator reads what happened and the reference to quote. Streamlit's
own stop and rerun signals are BaseExceptions and pass through untouched. `what` is a
catalog message (`N_`): English in the log, the app's language on the page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from shared.domain.language import ENGLISH, Translate
from streamlit_app.language import words

logger = logging.getLogger("streamlit_app")


def report(error: BaseException, what: str) -> str:
    """Log `error` with its traceback under a new reference; return the reference."""
    reference = secrets.token_hex(4)
    logger.error(
        f"unexpected error while trying to {what} (reference {reference})",
        exc_info=(type(error), error, error.__traceback__),
        extra={"reference": reference, "page_action": what},
    )
    return reference


def message(what: str, reference: str, t: Translate = ENGLISH) -> str:
    return t(
        "Something went wrong while trying to {what} (reference {reference}). The rest of "
        "the app still works: try again, and if it keeps happening, give this reference to "
        "whoever runs the app; the details are in its log.",
        what=t(what),
        reference=reference,
    )


@contextmanager
def contain(what: str) -> Iterator[None]:
    """Turn an unexpected error inside the block into a message with a reference."""
    try:
        yield
    except Exception as error:
        st.error(message(what, report(error, what), words(read=False)), icon=":material/error:")

"""Pages of a long list: which slice to show and the words for what is not shown. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.domain.language import ENGLISH, Translate


@dataclass(frozen=True)
class PageWindow:
    """Items `start` to `stop` (exclusive) of `total`, on page `page` of `pages`."""

    page: int
    pages: int
    start: int
    stop: int
    total: int

    @property
    def hidden(self) -> int:
        return self.total - (self.stop - self.start)

    def text(self, noun: str, t: Translate = ENGLISH) -> str:
        """'showing 21 to 40 of 137 candidates; 117 more on other pages', or '' for one page."""
        if self.pages <= 1:
            return ""
        said = {
            "first": self.start + 1,
            "last": self.stop,
            "total": self.total,
            "noun": noun,
            "hidden": self.hidden,
        }
        if self.pages == 2:
            return t(
                "showing {first} to {last} of {total} {noun}; {hidden} more on the other page",
                **said,
            )
        return t(
            "showing {first} to {last} of {total} {noun}; {hidden} more on other pages", **said
        )


def page_window(total: int, page: int, size: int) -> PageWindow:
    """The window for `page` (clamped to what exists) of `size` items out of `total`."""
    pages = max(math.ceil(total / size), 1)
    page = min(max(page, 1), pages)
    start = (page - 1) * size
    return PageWindow(page, pages, start, min(start + size, total), total)

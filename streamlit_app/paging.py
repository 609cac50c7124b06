"""Pages of a long list: which slice to show and the words for what is not shown. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass


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

    def text(self, noun: str) -> str:
        """'showing 21 to 40 of 137 candidates; 117 more on other pages', or '' for one page."""
        if self.pages <= 1:
            return ""
        return (
            f"showing {self.start + 1} to {self.stop} of {self.total} {noun}; {self.hidden} more "
            f"on {'the other page' if self.pages == 2 else 'other pages'}"
        )


def page_window(total: int, page: int, size: int) -> PageWindow:
    """The window for `page` (clamped to what exists) of `size` items out of `total`."""
    pages = max(math.ceil(total / size), 1)
    page = min(max(page, 1), pages)
    start = (page - 1) * size
    return PageWindow(page, pages, start, min(start + size, total), total)

"""Following redirects: which statuses redirect, where a Location leads, and when a chain must stop."""

from __future__ import annotations

from yarl import URL

from fanfetch.engine.capture import clip
from fanfetch.engine.urls import join_location
from fanfetch.errors import InvalidTarget, RedirectError
from fanfetch.models import RedirectHop

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class RedirectChain:
    """The hops of one attempt, recorded into the result's `redirects` as they are followed."""

    def __init__(self, start: URL, max_redirects: int, hops: list[RedirectHop]) -> None:
        self._seen = {start}
        self._max_redirects = max_redirects
        self._hops = hops

    def follow(self, url: URL, status: int, location: str) -> URL:
        """The next URL after `url` answered `status` with `location`, or RedirectError saying why not."""
        self._hops.append(RedirectHop(url=clip(str(url)), status=status))
        if len(self._hops) > self._max_redirects:
            raise RedirectError(f"more than {self._max_redirects} redirects")
        if not location.strip():
            raise RedirectError("empty Location header")
        try:
            target = join_location(url, location)
        except InvalidTarget as exc:
            raise RedirectError(f"unusable Location header: {exc}") from exc
        if target in self._seen:
            raise RedirectError(f"redirect loop back to {target}")
        self._seen.add(target)
        return target

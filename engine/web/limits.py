"""How many requests one client may make: a token bucket per client address, in memory.

Each web process limits on its own (several behind a proxy each allow the rate: size it per
process). IPv6 clients are counted per /64, the block one subscriber usually holds, so that
walking through addresses does not escape the limit. The table is bounded: idle clients (whose
bucket has refilled) are dropped first, then the least recently seen.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable


def client_key(peer: str | None, forwarded_for: str, trusted: frozenset[str]) -> str:
    """The address to count a request against. `forwarded_for` (X-Forwarded-For) is believed
    only when the peer is a trusted proxy: then the right-most address not a trusted proxy is
    the client's (the left ones are whatever the client wrote)."""
    address = peer or ""
    if address in trusted and forwarded_for:
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            address = hop
            if hop not in trusted:
                break
    if "." in address and ":" not in address and address.replace(".", "").isdigit():
        return address  # IPv4, the common case, as it is
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "?"
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def trusted_proxies(setting: str) -> frozenset[str]:
    return frozenset(p.strip() for p in setting.split(",") if p.strip())


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key: (tokens, when)

    def wait(self, key: str) -> float:
        """0 when the request may go ahead (and is counted), else seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        tokens, then = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)  # re-inserted: most recent last
            self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= self.max_clients:
            return
        full = self.burst / self.rate
        idle = [k for k, (_, when) in self._buckets.items() if now - when >= full]
        self._drop(idle)
        if len(self._buckets) > self.max_clients:
            excess = len(self._buckets) - self.max_clients // 2
            self._drop(list(self._buckets)[:excess])

    def _drop(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._buckets.pop(key, None)

"""Who decides an agent's status: the agent, or a supervisor who paused or logged them out.

An agent sets their own status (Free, Break) unless a supervisor decided otherwise: a pause
lasts until a supervisor resumes them, even across their consoles closing; a log-out lasts
until they open a console again. Pure, so the rules are tested without an engine;
`engine.services.people.presence` reads the agent's standing, asks here, and writes.
"""

from __future__ import annotations

from dataclasses import dataclass

PAUSED_BY = "paused by "
LOGGED_OUT_BY = "logged out by "


@dataclass(frozen=True)
class Standing:
    """An agent's status as stored, and whether a supervisor's decision holds."""

    username: str
    status: str
    reason: str
    paused: bool
    logged_out: bool


@dataclass(frozen=True)
class Change:
    """What to write: the new status and its reason (shown on the supervisors' grid)."""

    status: str  # offline, free, break or paused
    reason: str = ""


@dataclass(frozen=True)
class Opening:
    """What a console opening does: a status change, or telling that console to leave."""

    change: Change | None = None
    tell_logged_out: bool = False


def own_change_refusal(agent: Standing) -> str | None:
    """Why an agent may not change their own status now, in words for them."""
    if agent.status == "paused":
        return f"{agent.reason or 'a supervisor paused you'}: only a supervisor resumes you"
    if agent.status == "offline" and agent.logged_out:
        return f"{agent.reason or 'a supervisor logged you out'}: open the console again to work"
    return None


def own_change(status: str, reason: str) -> Change:
    # Only a break has a reason; Free with one would show on the supervisors' grid.
    return Change(status, reason if status == "break" else "")


def pause(agent: Standing, by: str) -> Change | str:
    """The pause, or why there is none. The agent keeps the interactions they have."""
    if agent.status == "offline":
        return f"{agent.username} is not logged in"
    if agent.status == "paused":
        return f"{agent.username} is already paused ({agent.reason})"
    return Change("paused", PAUSED_BY + by)


def resume(agent: Standing) -> Change | str:
    if agent.status != "paused":
        return f"{agent.username} is not paused"
    return Change("free")


def log_out(agent: Standing, by: str) -> Change | str:
    """Offline until the agent opens a console again; a pause they were in ends with it."""
    if agent.status == "offline":
        return f"{agent.username} is not logged in"
    return Change("offline", LOGGED_OUT_BY + by)


def console_opened(agent: Standing, *, resuming: bool) -> Opening:
    """An agent whose console is open is logged in: Offline agents come back Free, those
    paused when their console left come back Paused, and a console only reconnecting
    (`resuming`) after a supervisor logged its agent out is told so, and leaves."""
    if agent.status != "offline":
        return Opening()
    if agent.logged_out and resuming:
        return Opening(tell_logged_out=True)
    if agent.paused:
        return Opening(Change("paused", agent.reason))
    return Opening(Change("free"))


def last_console_closed(agent: Standing) -> Change:
    """Offline; a pause or a log-out keeps its reason, to be taken up when they return."""
    keeps = agent.paused or (agent.status == "offline" and agent.logged_out)
    return Change("offline", agent.reason if keeps else "")

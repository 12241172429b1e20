"""How `postdesk ctl` prints: tables and reports for people, `--json` for scripts, CSV that a
spreadsheet cannot mistake for a formula."""

from __future__ import annotations

import json
import sys
from typing import Any

from engine.api.schemas import (
    ConnectionReport,
    DispositionStats,
    OAuthStatus,
    RecordingPage,
    Schema,
    StatsOut,
    to_builtins,
)
from engine.text.sanitize import one_line, sanitize
from postdesk.ctl.dispositions import DispositionView
from postdesk.ctl.oauth import status_lines


def report_lines(report: ConnectionReport, *, utf8: bool = True) -> list[str]:
    """The connection test as the admin console shows it: `IMAP  ✓ resolve ✓ connect ✗ login`,
    the server's reason on the next line."""
    yes, no = ("✓", "✗") if utf8 else ("+", "x")
    verdict = "connected" if report.ok else "not connected"
    lines = [f"{one_line(report.campaign, 50)}: {verdict}"]
    for check in report.checks:
        steps = [f"{yes} {step}" for step in check.passed]
        if check.step == "skipped":
            steps.append("- not used")
        elif check.ok:
            steps.append(f"{yes} ok")
        else:
            steps.append(f"{no} {check.step}")
        lines.append(f"{check.service.upper():<5} " + " ".join(steps))
        if check.detail:
            lines.append("      " + one_line(check.detail, 300))
    return lines


def print_result(result: Any, as_json: bool) -> None:
    if isinstance(result, CsvText):
        sys.stdout.write(result)
        return
    payload: Any = to_builtins(result) if isinstance(result, Schema | list) else result
    if as_json:
        print(json.dumps(payload, indent=2))
        return
    if isinstance(result, StatsOut):
        print(f"since={result.since.isoformat()}  until={result.until.isoformat()}")
        for row in result.campaigns:
            percent = "-" if row.sl_percent is None else f"{row.sl_percent:.1f}"
            first = row.avg_first_response_seconds
            parts = [
                f"campaign={one_line(row.name)}",
                f"waiting={row.waiting}",
                f"active={row.active}",
                f"answered={row.answered}",
                f"sl%={percent} ({row.sl_within}/{row.sl_counted} in {row.service_level_seconds}s)",
                f"avg_first_response={'-' if first is None else f'{first:.0f}s'}",
                f"completed_in={row.completed_in}",
                f"completed_out={row.completed_out}",
                f"ratings={row.rating_count}",
                f"rating_avg={'-' if row.rating_average is None else row.rating_average}",
                *(f"{k}={v}" for k, v in row.agents.items()),
            ]
            print("  ".join(parts))
        return
    if isinstance(result, DispositionStats | DispositionView):
        print("\n".join(disposition_lines(result)))
        return
    if isinstance(result, ConnectionReport):
        utf8 = "utf" in (sys.stdout.encoding or "").lower()
        print("\n".join(report_lines(result, utf8=utf8)))
        return
    if isinstance(result, RecordingPage):
        print_recordings(result)
        return
    if isinstance(result, OAuthStatus):  # `campaign oauth|authorize` (issue 17)
        print("\n".join(status_lines(result)))
        return
    # Plain output goes to a terminal: every value is untrusted text (mail, names).
    rows = payload if isinstance(payload, list) else [payload]
    for row in rows:
        if not isinstance(row, dict):
            print(one_line(str(row)))
            continue
        print("  ".join(f"{k}={one_line(str(v))}" for k, v in row.items() if k != "raw"))
        if "raw" in row:
            print(sanitize(row["raw"]))


def disposition_lines(result: DispositionStats | DispositionView) -> list[str]:
    """Wrap-up codes (docs/wrapup.md): a campaign's tree as indented paths, or the closes
    per campaign and code in a period, most used first."""
    if isinstance(result, DispositionView):
        asked = "required" if result["required"] else "optional"
        lines = [f"campaign={one_line(result['campaign'])}  on close a code is {asked}"]
        for row in result["codes"]:
            depth = row["path"].count(" > ")
            name = row["path"].rsplit(" > ", 1)[-1]
            flag = "" if row["active"] else "  (inactive)"
            lines.append(f"  {'  ' * depth}{one_line(name)}{flag}")
        if not result["codes"]:
            lines.append("  no codes: closing asks for none")
        return lines
    lines = [f"since={result.since.isoformat()}  until={result.until.isoformat()}"]
    for campaign in result.campaigns:
        lines.append(f"campaign={one_line(campaign.campaign)}  closed={campaign.closed}")
        for count in campaign.counts:
            lines.append(f"  {count.count:>6}  {one_line(count.disposition) or '(no code)'}")
    if not result.campaigns:
        lines.append("no interaction was closed in the period")
    return lines


class CsvText(str):
    """Output that is already what to print (`ctl ratings --csv`)."""


def print_recordings(page: RecordingPage) -> None:
    """`ctl recordings search`: "41-80 of 1,234", then one sanitised line per interaction."""
    first = (page.page - 1) * page.page_size + 1
    last = first + len(page.items) - 1
    shown = f"{first:,}-{last:,}" if page.items else "none"
    more = "+" if page.capped else ""  # counted up to a cap: `--count` for the exact figure
    print(f"{shown} of {page.total:,}{more} (page {page.page})")
    for row in page.items:
        parts = [
            f"id={row.id}",
            f"last={row.last_message_at:%Y-%m-%d %H:%M}",
            f"state={row.state}",
            f"campaign={one_line(row.campaign_name)}",
            f"agent={one_line(row.agent or '-')}",
            f"client={one_line(row.client_email)}",
            f"subject={one_line(row.subject, 80)}",
        ]
        print("  ".join(parts))

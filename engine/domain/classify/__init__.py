"""Tell a person's mail from a machine's: bounces, complaints, auto-replies, lists, our own mail.

Why this exists: a contact centre that answers by itself (acknowledgements, queue notices) must
never answer a machine.  Answering an out-of-office, a mailing list, a bounce or our own mail
coming back starts a mail loop or sprays backscatter.  Bounces and abuse complaints are also
news about a message *we* sent: they belong to that message (and may make an address
undeliverable), not in an agent's queue as a new customer interaction.

What is read: RFC 3834 ``Auto-Submitted`` (anything but ``no``) and the vendor ``X-Autoreply``,
``X-Autorespond``, ``Precedence`` and ``X-Loop`` headers (``X-Auto-Response-Suppress`` asks not
to be answered and is on people's Exchange mail too: only with Exchange's inbox-rule loop
header does it mark a rule's reply), each in every instance of the header and with comments
and quotes read as the CFWS they are; the
RFC 2369/2919 list headers; a null return path; daemon, list-manager, gateway and no-reply
sender names; "Automatic reply:" subjects in many languages; a sender or ``X-Loop`` naming one
of the campaigns' own addresses; RFC 3464 delivery reports, RFC 5965 feedback (ARF) reports,
and the plain-text bounces of Postfix, Exim, qmail, Gmail, Exchange, GroupWise, Domino and
others, with the original message's Message-ID taken from the returned copy.  When several
signals are present the most specific kind wins, in the order complaint, bounce, own, list,
auto_reply, customer; ``reasons`` lists every signal found.

Wording alone never makes a mail automated: people write "Re: delivery of my order failed" or
"Question about your out of office policy".  Notices that are not reports (plain-text bounces,
antivirus, list moderation and loop notices, complaints sent as plain mail with the original
attached, as Hotmail's are) count only when the sender also looks like a machine: a header
above, a null sender, ``X-Failed-Recipients``, or a sender name such as ``administrator@`` or
"Mail Delivery System" that is too weak to decide alone.  Subjects are matched at their start,
so a person's "Re:" or "Fwd:" of a bounce stays a person's mail.

Everything is pure and total.  Decoded top-level headers and the body text come from the
:class:`~engine.domain.mime.ParsedMessage`.  Reports need the part structure it flattens, so
the MIME tree is read again from the raw bytes (``mime_parts.message_tree``, the stdlib's
``compat32`` tree, which keeps header text as it came) and its parts with mime's tolerant,
charset-aware helpers, but only where it can matter: when the bytes name a
``multipart/report`` at all, or when a plain-text bounce is searched for the returned
original.  Most mail is neither and is parsed once.  Malformed or hostile reports degrade to
``auto_reply`` (a report is machine mail even when it is unreadable) with a reason saying what
was missing; nothing but a programming error raises.  Reasons quote header values and, like
``mime``'s output, are not sanitised for the terminal.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from engine.domain.classify.arf import read_complaint, read_mixed_complaint
from engine.domain.classify.dsn import read_dsn
from engine.domain.classify.kinds import PRECEDENCE, Bounce, Classification, Complaint, Kind
from engine.domain.classify.parts import LazyTree, Report, all_parts, find_report
from engine.domain.classify.patterns import MAX_SCAN, NO_RECIPIENT_FIELDS, REPORT_TYPE
from engine.domain.classify.plain import read_plain_bounce
from engine.domain.classify.signals import (
    auto_reply_subject,
    header_signals,
    machine_notices,
    machine_sender,
    own_signals,
)
from engine.domain.classify.values import is_hard_bounce, quoted
from engine.domain.mime import ParsedMessage

__all__ = [
    "Bounce",
    "Classification",
    "Complaint",
    "Kind",
    "classify",
    "is_hard_bounce",
]


def classify(
    raw: bytes,
    parsed: ParsedMessage,
    *,
    our_addresses: AbstractSet[str],
) -> Classification:
    """Classify one inbound message; ``parsed`` must be ``parse_message(raw)``.

    ``our_addresses`` are the campaigns' own addresses.  No domain is Postdesk's alone (a
    campaign's address and its Message-IDs share the company's domain, and an internal
    helpdesk's customers write from it too), so our own mail coming back is recognised by its
    Message-ID among the messages we sent (``engine.domain.inbound``), not here by domain.
    """
    addresses = {a.strip().lower() for a in our_addresses if a.strip()}
    found: list[tuple[Kind, str]] = []
    bounce: Bounce | None = None
    complaint: Complaint | None = None

    tree = LazyTree(raw, found)
    report: Report | None = None
    # A report is always named "multipart/report" in the bytes; without that, none is found.
    if REPORT_TYPE.search(raw) and (top := tree.get()) is not None:
        report = find_report(top)
    text = parsed.text[:MAX_SCAN]
    headers_found = list(header_signals(parsed, addresses))
    evidence = bool(headers_found) or machine_sender(parsed)

    # A readable report has said what it is (a delivery, a read receipt): its human-readable
    # part is not second-guessed.  Without one, or with an unreadable delivery report, the
    # text may still be a plain-text bounce.
    read_text = report is None
    if report is not None:
        if report.kind == "feedback-report":
            complaint, why = read_complaint(report.parts)
            found.append(("complaint" if complaint else "auto_reply", why))
        elif report.kind == "delivery-status":
            bounce, why = read_dsn(report.parts, parsed, text)
            found.append(("bounce" if bounce else "auto_reply", why))
            read_text = why == NO_RECIPIENT_FIELDS
        elif report.kind == "disposition-notification":
            found.append(("auto_reply", "read receipt (disposition-notification report)"))
        else:
            shown = quoted(report.kind) or "(none)"
            found.append(("auto_reply", f"machine-generated report (report-type {shown})"))
    if read_text and evidence:
        plain = read_plain_bounce(
            parsed, text, lambda: report.parts if report is not None else all_parts(tree.get())
        )
        if plain is not None:
            bounce, why = plain
            found.append(("bounce", why))
        elif report is None and (mixed := read_mixed_complaint(parsed, text, raw, tree)):
            complaint, why = mixed
            found.append(("complaint", why))
    if evidence:
        found.extend(machine_notices(parsed, text))
    found.extend(headers_found)
    found.extend(auto_reply_subject(parsed))
    found.extend(("own", reason) for reason in own_signals(parsed, addresses))

    kinds = {kind for kind, _ in found}
    kind: Kind = next((k for k in PRECEDENCE if k in kinds), "customer")
    reasons = list(dict.fromkeys(reason for _, reason in found))
    return Classification(
        kind=kind,
        reasons=reasons,
        never_auto_answer=kind != "customer",
        bounce=bounce if kind == "bounce" else None,
        complaint=complaint if kind == "complaint" else None,
    )

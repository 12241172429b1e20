"""Tell a person's mail from a machine's: bounces, complaints, auto-replies, lists, our own mail.

Why this exists: a contact centre that answers by itself (acknowledgements, queue notices) must
never answer a machine.  Answering an out-of-office, a mailing list, a bounce or our own mail
coming back starts a mail loop or sprays backscatter.  Bounces and abuse complaints are also
news about a message *we* sent: they belong to that message (and may make an address
undeliverable), not in an agent's queue as a new customer interaction.

What is read: RFC 3834 ``Auto-Submitted`` (anything but ``no``) and the vendor ``X-Autoreply``,
``X-Autorespond``, ``X-Auto-Response-Suppress``, ``Precedence`` and ``X-Loop`` headers; the
RFC 2369/2919 list headers; a null return path; daemon, list-manager, gateway and no-reply
sender names; "Automatic reply:" subjects in many languages; Message-IDs and senders in our own
domains; RFC 3464 delivery reports, RFC 5965 feedback (ARF) reports, and the plain-text bounces
of Postfix, Exim, qmail, Gmail, Exchange, GroupWise, Domino and others, with the original
message's Message-ID taken from the returned copy.  When several signals are present the most
specific kind wins, in the order complaint, bounce, own, list, auto_reply, customer;
``reasons`` lists every signal found.

Wording alone never makes a mail automated: people write "Re: delivery of my order failed" or
"Question about your out of office policy".  Notices that are not reports (plain-text bounces,
antivirus, list moderation and loop notices, complaints sent as plain mail with the original
attached, as Hotmail's are) count only when the sender also looks like a machine: a header
above, a null sender, ``X-Failed-Recipients``, or a sender name such as ``administrator@`` or
"Mail Delivery System" that is too weak to decide alone.  Subjects are matched at their start,
so a person's "Re:" or "Fwd:" of a bounce stays a person's mail.

Everything is pure and total.  Decoded top-level headers and the body text come from the
:class:`~engine.domain.mime.ParsedMessage`.  Reports need the part structure it flattens, so
the MIME tree is read again from the raw bytes with the stdlib (``compat32``, which keeps
header text as it came), but only where it can matter: when the bytes name a
``multipart/report`` at all, or when a plain-text bounce is searched for the returned
original.  Most mail is neither and is parsed once.  Malformed or hostile reports degrade to
``auto_reply`` (a report is machine mail even when it is unreadable) with a reason saying what
was missing; nothing but a programming error raises.  Reasons quote header values and, like
``mime``'s output, are not sanitised for the terminal.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.utils
import quopri
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from typing import Literal

from engine.domain.mime import ParsedMessage

__all__ = [
    "Bounce",
    "Classification",
    "Complaint",
    "Kind",
    "classify",
    "is_hard_bounce",
]

Kind = Literal["customer", "auto_reply", "bounce", "complaint", "list", "own"]

# Most specific first: a bounce from our own relay is a bounce, a list's auto-reply a list mail.
_PRECEDENCE: tuple[Kind, ...] = ("complaint", "bounce", "own", "list", "auto_reply")


@dataclass(frozen=True, slots=True)
class Bounce:
    """One failed (or delayed) delivery of a message we sent.

    ``status`` is the RFC 3463 enhanced code ("5.1.1"), from the report or, failing that, from
    the server's text; ``diagnostic`` is the remote server's text on one line ("" if none).
    ``hard`` means the address itself is unusable (see :func:`is_hard_bounce`).
    """

    original_message_id: str | None
    recipient: str | None
    status: str | None
    action: str | None
    diagnostic: str
    hard: bool


@dataclass(frozen=True, slots=True)
class Complaint:
    """An abuse report: ``original_recipient`` is the address that complained.

    ``arf`` is false for a complaint sent as plain mail with the original attached (Hotmail's).
    """

    feedback_type: str
    original_recipient: str | None
    original_message_id: str | None
    arf: bool = True


@dataclass(frozen=True, slots=True)
class Classification:
    """What an inbound mail is, why, and whether it may ever be answered automatically."""

    kind: Kind
    reasons: list[str]
    never_auto_answer: bool
    bounce: Bounce | None = None
    complaint: Complaint | None = None


# Reports and bounce texts are short; more than this is not worth scanning (and bounds the cost
# of every regular expression below on hostile input).
_MAX_SCAN = 100_000
_MAX_DIAGNOSTIC = 1000
_MAX_QUOTE = 120
_MAX_TOKEN = 256
_MAX_DEPTH = 4

_WHITESPACE = re.compile(r"\s+")
_REPORT_TYPE = re.compile(rb"multipart/report", re.I)
_FIELD = re.compile(r"([!-9;-~]{1,200})[ \t]*:[ \t]*(.*)")
_ANGLE = re.compile(r"<([^<>]*)>")
_TYPE_PREFIX = re.compile(r"[ \t]*[A-Za-z0-9][A-Za-z0-9.-]{0,30}[ \t]*;[ \t]*")
_ENHANCED_FIELD = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# In free text the subject digit is 0-7 (RFC 3463), which keeps version numbers ("Exim 4.94.2")
# and dotted dates out; IP addresses are kept out by the look-arounds.
_ENHANCED_TEXT = re.compile(r"(?<![\d.])([245])\.([0-7])\.(\d{1,3})(?![\d.])")
_BASIC_CODE = re.compile(r"(?<![\w.])([45])\d\d(?=[ -]|$)", re.M)
_ADDR_CHARS = r"[^\s<>()\[\]\",;:@]"
_ADDR = rf"{_ADDR_CHARS}{{1,{_MAX_TOKEN}}}@{_ADDR_CHARS}{{1,{_MAX_TOKEN}}}"
# Only at a token start, so that a long run of junk is scanned once, not once per character.
_ANY_ADDR = re.compile(rf"(?<!{_ADDR_CHARS})({_ADDR})")

# Local parts only machines use: alone they make a mail automated.  Besides daemons and
# no-reply names: list managers (Mailman's -bounces/-owner/-request/-admin, Majordomo's
# owner-), Exchange's NDR sender (MicrosoftExchange + 32 hex digits) and mail gateways'
# antivirus senders.  Plain "admin", "owner" or "request" stay people: small firms write from them.
_AUTOMATED_LOCAL = re.compile(
    r"(?:mailer[-_.]?daemon|mail[-_.]?daemon|post[-_.]?master|no[-_.]?reply|do[-_.]?not[-_.]?reply"
    r"|bounces?|owner-[^@]+|mailman|majordomo|listserv|sympa|ezmlm"
    r"|microsoftexchange[0-9a-f]{32}"
    r"|mail[-_.]?scanner|anti[-_.]?virus|virus[-_.]?(?:alert|warning|scan|scanner|wall|check)s?"
    r"|av[-_.]?(?:gateway|alert|scan)s?|amavisd?|scanmail|puremessage|interscan|mailsweeper)"
    r"(?:[-_.+].*)?"
    r"|.*[-_.]no[-_.]?reply"
    r"|.+-(?:admin|bounces?|owner|request)(?:\+.*)?",
    re.I | re.S,
)
_DAEMON_LOCAL = re.compile(r"mailer[-_.]?daemon|mail[-_.]?daemon|post[-_.]?master", re.I)
# Local parts and display names that only *suggest* a machine: they count as evidence only
# next to the wording of a notice (a bounce, an antivirus or moderation notice, a complaint).
_MACHINE_LOCAL = re.compile(
    r"(?:^|[-_.])(?:administrator|sysadmin|system|root|gateway|scanner|mailsystem|mailadmin"
    r"|mailrouter|alerts?|staff|abuse|fbl|feedback(?:loop)?|jmrp|scomp|complaints?|arf"
    r"|quarantine|security|notifications?)(?:$|[-_.+])",
    re.I,
)
_MACHINE_NAME = re.compile(
    r"mail delivery (?:sub)?system|mail(?:er)?[- _]?daemon|(?:mail|system) administrator"
    r"|post ?master|mail system|mail router|microsoft (?:outlook|exchange)|content[- ]filter"
    r"|mail gateway|anti-?virus|virus (?:alert|scanner|wall)|mail ?scanner|(?:e-?)?mail security",
    re.I,
)
# A null sender also hides behind a display name ("Mail Delivery System <>").
_NULL_ADDRESS = re.compile(r"(?:^|[\s\"])<\s*>\s*$")

_AUTOREPLY_HEADERS = {
    "x-autoreply": "X-Autoreply",
    "x-autorespond": "X-Autorespond",
    "x-autoreply-from": "X-Autoreply-From",
    "x-mail-autoreply": "X-Mail-Autoreply",
    "x-autogenerated": "X-Autogenerated",
}
_NEGATIVE_VALUES = frozenset({"no", "false", "0", "off"})
_PRECEDENCE_AUTO = frozenset({"bulk", "junk", "auto_reply", "auto-reply"})
_SUPPRESS_TOKENS = frozenset({"all", "oof", "autoreply", "dr", "rn", "nrn"})
_LIST_HEADERS = {
    "list-id": "List-Id",
    "list-unsubscribe": "List-Unsubscribe",
    "list-unsubscribe-post": "List-Unsubscribe-Post",
    "list-subscribe": "List-Subscribe",
    "list-post": "List-Post",
    "list-help": "List-Help",
    "list-owner": "List-Owner",
    "list-archive": "List-Archive",
}

_DELIVERY_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)
_FAILED_ACTIONS = frozenset({"failed", "delayed"})
_NO_RECIPIENT_FIELDS = "delivery report without per-recipient fields"
_COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})

# Plain-text bounces: wording of the mail systems that still send them (lower-case).
_BOUNCE_BODY_PHRASES = (
    "this is the mail system at host",
    "delivery to the following recipient failed permanently",
    "delivery to the following recipients failed permanently",
    "delivery to the following recipient has been delayed",
    "was undeliverable",
    "this is the qmail-send program",
    "could not be delivered to one or more of its recipients",
    "has not yet been delivered to one or more of its recipients",
    "the following address(es) failed",
    "delivery has failed to these recipients",
    "your message couldn't be delivered",
    "your message could not be delivered",
    "your message wasn't delivered",
    "the following addresses had permanent fatal errors",
    "message could not be delivered",
)
# Bounce subjects as the mail systems write them, matched at the start only: a person's
# "Re: delivery of my order failed" or "Fwd: Undeliverable: ..." is no bounce (and a subject
# alone never is one either: see _read_plain_bounce).
_BOUNCE_SUBJECT = re.compile(
    r"(?:undelivered mail returned to sender|undeliver(?:able|ed)\b|delivery status notification"
    r"|mail delivery failed|delayed mail|failure notice|returned mail\b|delivery failure"
    r"|delivery notification|message status - undeliverable|warning: (?:message|could not send)"
    r"|(?:mail|message|e-?mail) (?:could not|couldn't|cannot|can't|was not|not) (?:be )?delivered"
    r"|non-?deliver(?:able|y)|delivery (?:has )?(?:failed|delayed)|mail system error"
    r"|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|benachrichtigung zum übermittlung"
    r"|non remis|non distribuable|échec de (?:la )?(?:remise|livraison|distribution)"
    r"|notification d'état de remise|(?:message|courrier) non (?:remis|délivré|distribué)"
    r"|no se puede entregar|no entregado|mensaje no entregado|error de entrega"
    r"|notificación de estado de entrega|impossibile recapitare|non recapitabile|mancato recapito"
    r"|messaggio non recapitato|onbestelbaar|niet bezorgd|kan niet worden bezorgd"
    r"|não é possível entregar|mensagem não entregue|falha na entrega|kan inte levereras"
    r"|olevererbart|kan ikke leveres|toimittamaton|niedostarczalne|nie można dostarczyć"
    r"|nedoručiteln|недоставля|не доставлено|недоставленное|配信不能|配送失敗|无法投递|退信|未送达)"
)
# The same news in the bounce's own words, anywhere before the returned copy (lower-case,
# whitespace squashed); generic wording is safe because a machine sender must be shown too.
_BOUNCE_BODY = re.compile(
    r"\b(?:message|mail|e-?mail)\b[^.\n]{0,160}?\b(?:could not|couldn't|cannot|can't|was not"
    r"|wasn't) (?:be |been )?delivered"
    r"|was undeliverable|failed recipients|not listed in (?:the )?(?:domino directory|public name)"
    r"|invalid (?:user|recipient) address|requested action not taken|transcript of session follows"
    r"|following addresses had (?:permanent fatal errors|delivery (?:problems|errors))"
    r"|failure reasons|non-delivered information|invalid final delivery userid"
    r"|could not be delivered because|following recipients were affected"
    r"|送信に失敗しました|送信できませんでした|配信できませんでした"
    r"|konnte nicht (?:an [^.\n]{1,160} )?zugestellt werden|n'a pas pu être (?:remis|distribué)"
    r"|no se pudo entregar|non è stato possibile recapitare|kon niet worden bezorgd"
    r"|não foi possível entregar|kunde inte levereras|nie można dostarczyć"
    r"|не может быть доставлено|не удалось доставить"
)
_DELAY_PHRASES = (
    "has been delayed",
    "delayed mail",
    "(delay)",
    "this is a warning only",
    "will continue to try",
    "still being retried",
    "has not yet been delivered",
    "delivery delayed",
    "verzögert",
    "différée",
    "retrasad",
    "ritardat",
    "vertraagd",
)

# Other machine notices: each needs its wording *and* some sign of a machine (see _notices).
_ANTIVIRUS_SUBJECT = re.compile(
    r"^(?:\[virus[^\]]*\]|virus (?:warning|alert|found|detected|notification|notice)\b"
    r"|warning: e-?mail viruses? detected|anti-?virus (?:alert|notification|warning)"
    r"|banned contents? alert|virenwarnung|virus gefunden|alerte virus|virus détecté"
    r"|virus encontrado|virus rilevato)"
    r"|\bvirus\b.* in (?:mail|message|e-?mail) from you\b|\bdetected an? virus\b"
)
_ANTIVIRUS_BODY = re.compile(
    r"virus name:|\bvirus: |infected with|(?:has been|was|were) quarantined|in quarantäne"
    r"|virus was (?:found|detected)|contained a virus|banned (?:content|attachment)"
    r"|mis en quarantaine|virenscanner"
)
_MODERATION = re.compile(
    r"awaits? (?:the )?moderator(?:'s)? approval|held for (?:moderation|approval)"
    r"|is being held (?:until|for)|list moderator|pending moderat|wartet auf (?:die )?freigabe"
    r"|attend l'approbation|approbation du modérateur|moderation request"
)
_LOOP = re.compile(
    r"mail loop|loop detected|appears to be looping|x-loop header|boucle de messagerie"
    r"|boucle détectée|schleife erkannt"
)
_COMPLAINT_WORDING = re.compile(
    r"complaint about (?:a |the |this )?message|e-?mail abuse report|\babuse report\b"
    r"|spam (?:report|complaint)|junk (?:mail )?report|feedback loop"
    r"|marked (?:the attached message |this message |it )?as (?:junk|spam)"
    r"|reported (?:it |this message )?as (?:junk|spam)"
)
# Microsoft's complaint loop (JMRP) puts the complaining address on the returned copy.
_HOTMAIL_RECIPIENT = "x-hmxmroriginalrecipient"
# "Automatic reply:" and its translations: no person starts a subject like that.
_AUTO_REPLY_SUBJECT = re.compile(
    r"(?:auto(?:matic)?[- ]?(?:reply|response|answer)|out of (?:the )?office(?: auto-?reply)?"
    r"|automatische antwort|abwesenheitsnotiz|abwesenheitsmeldung|réponse automatique"
    r"|respuesta automática|risposta automatica|automatisch antwoord|resposta automática"
    r"|autosvar|automatisk svar|automaattinen vastaus|odpowiedź automatyczna"
    r"|automatická odpověď|автоматический ответ|автоответ|自动回复|自動回覆|自動返信|自動応答"
    r"|자동 회신|otomatik yanıt|αυτόματη απάντηση)\s*[:：]"
)
# Without the colon it could be a person's subject ("Out of office hours support?", "Out of
# office next week, please reschedule"): only the bare phrase or "... until <when>" counts.
_AWAY_SUBJECT = re.compile(
    r"(?:out of (?:the )?office|ooo)\b\s*(?:$|[(\[]|until\b|till\b|back\b|returning\b)"
)
_COPY_MARKER = re.compile(
    r"^[ \t]*(?:-{2,}[^\n-][^\n]*"
    r"\b(?:original|copy of|returned (?:message|mail)|unsent message|headers? of)\b[^\n]*"
    r"|original message headers:?[^\n]*|original message follows\.?)$",
    re.I | re.M,
)
_RECIPIENT_PATTERNS = (
    re.compile(rf"following message to <?({_ADDR})>? was undeliverable", re.I),
    re.compile(rf"recipients? failed permanently:\s*<?({_ADDR})", re.I),
    re.compile(rf"recipients? has been delayed:\s*<?({_ADDR})", re.I),
    re.compile(rf"following address(?:\(es\))? failed:\s*<?({_ADDR})", re.I),
    re.compile(rf"(?:undeliverable|not delivered) to(?: the following)?:?\s*<?({_ADDR})", re.I),
    re.compile(rf"^[ \t]*rcpt to:[ \t]*<?({_ADDR})", re.I | re.M),
    re.compile(rf"^[ \t]*<({_ADDR})>", re.M),
    re.compile(rf"^[ \t]*({_ADDR})[ \t]*$", re.M),
)
# (pattern, the diagnostic runs to the end of the paragraph rather than of the line)
_DIAGNOSTIC_PATTERNS = (
    (re.compile(r"the error that the other server returned was:[ \t]*", re.I), True),
    (re.compile(r"remote host said:[ \t]*", re.I), False),
    (re.compile(r"remote server returned '", re.I), False),
    (re.compile(r"the reason for the problem:[ \t]*", re.I), True),
    (re.compile(r"^[ \t]*diagnostic-code:[ \t]*", re.I | re.M), False),
    (re.compile(r"\bsaid:[ \t]*", re.I), True),
    (re.compile(r"technical details of (?:temporary|permanent) failure:[ \t]*", re.I), True),
)
_MESSAGE_ID_LINE = re.compile(
    r"^[ \t>]*message-id[ \t]*:[ \t]*([^\n]*(?:\n[ \t]+[^\n]*)?)", re.I | re.M
)

# Wording for is_hard_bounce (lower-case regular expressions).
_MAILBOX_FULL = re.compile(
    r"mailbox (?:is )?full|quota exceeded|over ?quota|exceeded (?:\w+ ){0,2}quota"
    r"|insufficient (?:system )?storage|mailbox size limit|exceeded storage"
)
_TEMPORARY = re.compile(
    r"try again later|try later|retry later|temporar|greylist|graylist|grey-list|gray-list"
)
_ADDRESS_UNKNOWN = re.compile(
    r"user unknown|unknown user|no such (?:user|recipient|mailbox|address)|does not exist"
    r"|doesn't exist|recipient address rejected|recipient not found|unknown recipient"
    r"|invalid recipient|mailbox not found|mailbox unavailable|no mailbox here"
    r"|address rejected|account (?:has been )?disabled|user not found|not listed in (?:the )?"
    r"(?:domino directory|public name)|recipnotfound|benutzer unbekannt|utilisateur inconnu"
    r"|usuario desconocido|utente sconosciuto|unknown address|invalid (?:final delivery )?userid"
)
_PERMANENT = re.compile(r"permanent(?:ly)? (?:error|failure|fatal)|failed permanently")


def is_hard_bounce(status: str | None, action: str | None, text: str) -> bool:
    """Whether a failed delivery means the address is unusable, by status *and* wording.

    Delayed deliveries and 4.x.x are soft.  5.x.x is hard, except a full mailbox (5.2.2 or its
    wording) and temporary policy wording ("try again later", "temporarily", greylisting),
    which are soft; an addressing status (5.1.x) stays hard whatever the text adds.  Without an
    enhanced status the basic SMTP code, then the wording decides: "user unknown", "no such
    user", "does not exist", "recipient address rejected" and "permanent error" are hard.
    Nothing decisive at all is soft: marking an address dead on a guess is the worse mistake.
    """
    lowered = text[:_MAX_SCAN].lower()
    if (action or "").strip().lower() == "delayed":
        return False
    code = _enhanced(status, _ENHANCED_FIELD) or _enhanced(lowered, _ENHANCED_TEXT)
    klass, subject, detail = _basic_class(lowered), "", ""
    if code is not None:
        klass, subject, detail = code.split(".")
    if klass in ("2", "4"):
        return False
    if klass == "5" and subject == "1":
        return True
    if (subject, detail) == ("2", "2") or _MAILBOX_FULL.search(lowered):
        return False
    if _TEMPORARY.search(lowered):
        return False
    if klass == "5" or _ADDRESS_UNKNOWN.search(lowered):
        return True
    return bool(_PERMANENT.search(lowered))


def classify(
    raw: bytes, parsed: ParsedMessage, *, our_domains: set[str], our_addresses: set[str]
) -> Classification:
    """Classify one inbound message; ``parsed`` must be ``parse_message(raw)``.

    ``our_domains`` are the domains only Postdesk sends from (subdomains count, as Message-ID
    host names are often the sending host's); ``our_addresses`` the campaigns' own addresses.
    """
    domains = _normalise_domains(our_domains)
    addresses = {a.strip().lower() for a in our_addresses if a.strip()}
    found: list[tuple[Kind, str]] = []
    bounce: Bounce | None = None
    complaint: Complaint | None = None

    tree = _LazyTree(raw, found)
    report: _Report | None = None
    # A report is always named "multipart/report" in the bytes; without that, none is found.
    if _REPORT_TYPE.search(raw) and (top := tree.get()) is not None:
        report = _find_report(top)
    text = parsed.text[:_MAX_SCAN]
    headers_found = list(_header_signals(parsed, addresses))
    evidence = bool(headers_found) or _machine_sender(parsed)

    # A readable report has said what it is (a delivery, a read receipt): its human-readable
    # part is not second-guessed.  Without one, or with an unreadable delivery report, the
    # text may still be a plain-text bounce.
    read_text = report is None
    if report is not None:
        if report.kind == "feedback-report":
            complaint, why = _read_complaint(report.parts)
            found.append(("complaint" if complaint else "auto_reply", why))
        elif report.kind == "delivery-status":
            bounce, why = _read_dsn(report.parts, parsed, text)
            found.append(("bounce" if bounce else "auto_reply", why))
            read_text = why == _NO_RECIPIENT_FIELDS
        elif report.kind == "disposition-notification":
            found.append(("auto_reply", "read receipt (disposition-notification report)"))
        else:
            shown = _quote(report.kind) or "(none)"
            found.append(("auto_reply", f"machine-generated report (report-type {shown})"))
    if read_text and evidence:
        plain = _read_plain_bounce(
            parsed, text, lambda: report.parts if report is not None else _all_parts(tree.get())
        )
        if plain is not None:
            bounce, why = plain
            found.append(("bounce", why))
        elif report is None and (mixed := _read_mixed_complaint(parsed, text, raw, tree)):
            complaint, why = mixed
            found.append(("complaint", why))
    if evidence:
        found.extend(_notices(parsed, text))
    found.extend(headers_found)
    found.extend(_auto_reply_subject(parsed))
    found.extend(("own", reason) for reason in _own_signals(parsed, domains, addresses))

    kinds = {kind for kind, _ in found}
    kind: Kind = next((k for k in _PRECEDENCE if k in kinds), "customer")
    reasons = list(dict.fromkeys(reason for _, reason in found))
    return Classification(
        kind=kind,
        reasons=reasons,
        never_auto_answer=kind != "customer",
        bounce=bounce if kind == "bounce" else None,
        complaint=complaint if kind == "complaint" else None,
    )


# --- machine notices that are not reports ---------------------------------------------------


def _machine_sender(parsed: ParsedMessage) -> bool:
    """Whether the sender looks like a machine without being sure enough to say so alone."""
    headers = parsed.headers
    if "x-failed-recipients" in headers or "x-ms-exchange-message-is-ndr" in headers:
        return True
    if parsed.from_ is None:
        return bool(_NULL_ADDRESS.search(headers.get("from", "")[:_MAX_TOKEN]))
    local = parsed.from_.email.rpartition("@")[0] or parsed.from_.email
    return bool(
        _DAEMON_LOCAL.search(local[:_MAX_TOKEN])
        or _MACHINE_LOCAL.search(local[:_MAX_TOKEN])
        or _MACHINE_NAME.search(parsed.from_.name[:_MAX_TOKEN])
    )


def _squashed_subject(parsed: ParsedMessage) -> str:
    return _WHITESPACE.sub(" ", parsed.subject[: _MAX_TOKEN * 4]).strip().casefold()


def _notices(parsed: ParsedMessage, text: str) -> Iterator[tuple[Kind, str]]:
    """Antivirus, list moderation and list loop notices (the sender is known to be a machine)."""
    subject = _squashed_subject(parsed)
    body = _WHITESPACE.sub(" ", _failure_section(text)[:_MAX_SCAN]).casefold()
    found = _ANTIVIRUS_SUBJECT.search(subject) or _ANTIVIRUS_BODY.search(body)
    if found:
        yield "auto_reply", f"antivirus notice: {_quote(found.group(0))}"
    found = _MODERATION.search(subject) or _MODERATION.search(body)
    if found:
        yield "list", f"list moderation notice: {_quote(found.group(0))}"
    found = _LOOP.search(subject) or _LOOP.search(body)
    if found:
        yield "list", f"mail loop notice: {_quote(found.group(0))}"


def _auto_reply_subject(parsed: ParsedMessage) -> Iterator[tuple[Kind, str]]:
    """Out-of-office replies whose server added no header saying so."""
    subject = _squashed_subject(parsed)
    if _AUTO_REPLY_SUBJECT.match(subject):
        yield "auto_reply", f"auto-reply subject: {_quote(parsed.subject)}"
        return
    if _AWAY_SUBJECT.match(subject):
        yield "auto_reply", f"out-of-office subject: {_quote(parsed.subject)}"


def _read_mixed_complaint(
    parsed: ParsedMessage, text: str, raw: bytes, tree: _LazyTree
) -> tuple[Complaint, str] | None:
    """An abuse complaint sent as plain mail with the original attached (Hotmail's JMRP).

    Needs the wording of a complaint and the reported message enclosed; the sender is
    already known to look like a machine.
    """
    if b"rfc822" not in raw[: _MAX_SCAN * 10]:
        return None
    found = _COMPLAINT_WORDING.search(_squashed_subject(parsed)) or _COMPLAINT_WORDING.search(
        _WHITESPACE.sub(" ", text[: _MAX_DIAGNOSTIC * 4]).casefold()
    )
    if found is None:
        return None
    original = _original_headers(_all_parts(tree.get()))
    if original is None:
        return None
    complaint = Complaint(
        feedback_type="abuse",
        original_recipient=_address(_field(original, _HOTMAIL_RECIPIENT))
        or _first_address(_field(original, "to")),
        original_message_id=_message_id(_field(original, "message-id")),
        arf=False,
    )
    return complaint, f"abuse complaint without a feedback report: {_quote(found.group(0))}"


# --- header signals ------------------------------------------------------------------------


def _header_signals(parsed: ParsedMessage, addresses: set[str]) -> Iterator[tuple[Kind, str]]:
    headers = parsed.headers
    auto_submitted = headers.get("auto-submitted")
    if auto_submitted is not None:
        token = _token(auto_submitted)
        if token != "no":
            yield "auto_reply", f"Auto-Submitted: {_quote(token) or '(empty)'}"
    for name, label in _AUTOREPLY_HEADERS.items():
        value = headers.get(name)
        if value is not None and value.strip().lower() not in _NEGATIVE_VALUES:
            yield "auto_reply", f"{label}: {_quote(value) or '(empty)'}"
    precedence = _token(headers.get("precedence", ""))
    if precedence == "list":
        yield "list", "Precedence: list"
    elif precedence in _PRECEDENCE_AUTO:
        yield "auto_reply", f"Precedence: {precedence}"
    x_loop = headers.get("x-loop")
    if x_loop is not None:
        yield "auto_reply", f"X-Loop: {_quote(x_loop) or '(empty)'}"
        lowered = x_loop.lower()
        for address in sorted(addresses):
            if address in lowered:
                yield "own", f"X-Loop names our address {_quote(address)}"
    suppress = headers.get("x-auto-response-suppress")
    if suppress is not None:
        tokens = {t.lower() for t in re.split(r"[\s,;]+", suppress[:_MAX_SCAN]) if t}
        if tokens & _SUPPRESS_TOKENS:
            yield "auto_reply", f"X-Auto-Response-Suppress: {_quote(suppress)}"
    for name, label in _LIST_HEADERS.items():
        value = headers.get(name)
        if value is not None:
            yield "list", f"{label}: {_quote(value) or '(empty)'}"
    if _is_null_path(headers.get("return-path")):
        yield "auto_reply", "Return-Path: <> (null sender)"
    if parsed.from_ is None and _NULL_ADDRESS.search(headers.get("from", "")[:_MAX_TOKEN]):
        yield "auto_reply", "From: <> (null sender)"
    sender = parsed.from_.email if parsed.from_ is not None else ""
    local = sender.rpartition("@")[0] if "@" in sender else sender
    if local and _AUTOMATED_LOCAL.fullmatch(local[:_MAX_TOKEN]):
        yield "auto_reply", f"automated sender address: {_quote(sender)}"


def _own_signals(parsed: ParsedMessage, domains: set[str], addresses: set[str]) -> Iterator[str]:
    message_id = parsed.message_id or ""
    if "@" in message_id:
        domain = _clean_domain(message_id.rpartition("@")[2])
        if _in_domains(domain, domains):
            yield f"Message-ID in our domain: {_quote(domain)}"
    if parsed.from_ is not None:
        sender = parsed.from_.email.strip().lower()
        domain = _clean_domain(sender.rpartition("@")[2]) if "@" in sender else ""
        if sender in addresses:
            yield f"sender is our own address: {_quote(sender)}"
        elif _in_domains(domain, domains):
            yield f"sender in our domain: {_quote(domain)}"


def _normalise_domains(domains: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for domain in domains:
        clean = _clean_domain(domain.lstrip("@"))
        if not clean:
            continue
        out.add(clean)
        try:
            out.add(clean.encode("idna").decode("ascii"))
        except UnicodeError:
            pass
    return out


def _clean_domain(domain: str) -> str:
    return domain.strip().strip("<>[]").rstrip(".").lower()


def _in_domains(domain: str, domains: set[str]) -> bool:
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


def _is_null_path(value: str | None) -> bool:
    return value is not None and "".join(value.split()) == "<>"


# --- MIME structure ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Report:
    kind: str
    parts: list[Message]


def _safe_parse(raw: bytes) -> Message | None:
    try:
        return email.message_from_bytes(bytes(raw), policy=policy.compat32)
    except Exception:
        return None


class _LazyTree:
    """The compat32 tree of the raw bytes, parsed on first use (most mail never needs it)."""

    def __init__(self, raw: bytes, found: list[tuple[Kind, str]]) -> None:
        self._raw = raw
        self._found = found
        self._tree: Message | None = None
        self._parsed = False

    def get(self) -> Message | None:
        if not self._parsed:
            self._parsed = True
            self._tree = _safe_parse(self._raw)
            if self._tree is None:
                self._found.insert(0, ("customer", "could not read the MIME structure"))
        return self._tree


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
        if value is None:
            return ""
        return str(email.utils.collapse_rfc2231_value(value)).strip().lower()
    except Exception:
        return ""


def _children(part: Message) -> list[Message]:
    if not _content_type(part).startswith("multipart/"):
        return []
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _descendants(part: Message, depth: int = 0) -> Iterator[Message]:
    """Parts below ``part``, never inside an enclosed message (that is somebody else's mail)."""
    for child in _children(part):
        yield child
        if depth < _MAX_DEPTH:
            yield from _descendants(child, depth + 1)


def _all_parts(tree: Message | None) -> list[Message]:
    return [] if tree is None else [tree, *_descendants(tree)]


def _find_report(tree: Message) -> _Report | None:
    """The multipart/report at the top, or just inside a top-level mixed/signed wrapper."""
    candidates = [tree]
    if _content_type(tree) in ("multipart/mixed", "multipart/signed"):
        candidates.extend(_children(tree))
    for part in candidates:
        if _content_type(part) != "multipart/report":
            continue
        parts = list(_descendants(part))
        kind = _param(part, "report-type")
        if kind in ("", "global-delivery-status"):
            types = {_content_type(p) for p in parts}
            if types & _DELIVERY_STATUS_TYPES:
                kind = "delivery-status"
            elif "message/feedback-report" in types:
                kind = "feedback-report"
        return _Report(kind, parts)
    return None


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _to_text(data: bytes) -> str:
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _message_text(msg: Message) -> str:
    try:
        lines = [f"{name}: {value}" for name, value in msg.raw_items()]
    except Exception:
        lines = []
    try:
        body = msg.get_payload()
    except Exception:
        body = None
    if isinstance(body, str) and body.strip():
        lines.extend(["", body])
    return "\n".join(lines)


def _part_text(part: Message) -> str:
    """A leaf or message/* part's content as text, transfer encoding undone."""
    try:
        payload = part.get_payload()
    except Exception:
        return ""
    if isinstance(payload, list):
        # message/delivery-status arrives as one pseudo-message per block of fields.
        text = "\n\n".join(_message_text(p) for p in payload if isinstance(p, Message))
    elif isinstance(payload, str):
        text = payload
    else:
        return ""
    data = _to_bytes(text[: _MAX_SCAN * 2])
    try:
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    except Exception:
        encoding = ""
    if encoding == "base64":
        try:
            data = base64.b64decode(data)
        except (binascii.Error, ValueError):
            pass
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    return _to_text(data[:_MAX_SCAN]).replace("\r\n", "\n").replace("\r", "\n")


def _blocks(text: str) -> list[list[tuple[str, str]]]:
    """Blank-line separated blocks of ``Name: value`` fields; names lower-cased, unfolded."""
    blocks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, list[str]]] = []

    def close() -> None:
        if current:
            blocks.append([(name, " ".join(pieces).strip()) for name, pieces in current])
            current.clear()

    for line in text[:_MAX_SCAN].split("\n"):
        if not line.strip():
            close()
        elif line[0] in " \t" and current:
            current[-1][1].append(line.strip())
        elif match := _FIELD.fullmatch(line.strip()):
            current.append((match.group(1).lower(), [match.group(2)]))
    close()
    return blocks


def _field(block: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in block if key == name), None)


def _original_headers(parts: list[Message]) -> list[tuple[str, str]] | None:
    """The header fields of the returned or reported original message, if it is enclosed."""
    for part in parts:
        if _content_type(part) in _ORIGINAL_TYPES:
            blocks = _blocks(_part_text(part))
            if blocks:
                return blocks[0]
    return None


# --- values --------------------------------------------------------------------------------


def _quote(value: str) -> str:
    squashed = _WHITESPACE.sub(" ", value[: _MAX_QUOTE * 4]).strip()
    return squashed if len(squashed) <= _MAX_QUOTE else squashed[: _MAX_QUOTE - 1] + "…"


def _token(value: str) -> str:
    """The leading keyword of a structured value ("auto-replied; owner-email=..." -> ...)."""
    head = value[:_MAX_TOKEN].split(";", 1)[0].strip().lower()
    return head.split()[0] if head.split() else ""


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    value = value[:_MAX_SCAN]
    for inner in _ANGLE.findall(value):
        mid = "".join(inner.split())
        if mid:
            return mid[:998]
    for token in value.split():
        token = token.strip("<>")
        if "@" in token:
            return token[:998]
    return None


def _address(value: str | None) -> str | None:
    """The address of a DSN/ARF address field ("rfc822; a@b", "<a@b>", "a@b")."""
    if not value:
        return None
    value = value[:_MAX_SCAN]
    typed = _TYPE_PREFIX.match(value)
    if typed:
        value = value[typed.end() :]
    inner = _ANGLE.findall(value)
    candidate = (inner[0] if inner else value).strip().strip("<>").strip()
    candidate = candidate.split(",")[0].strip()
    return candidate[:998] or None


def _first_address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        pairs = email.utils.getaddresses([value[:_MAX_SCAN]])
    except Exception:
        pairs = []
    for _, addr in pairs:
        if "@" in addr:
            return addr.strip()
    found = _ANY_ADDR.search(value[:_MAX_SCAN])
    return found.group(1) if found else None


def _enhanced(text: str | None, pattern: re.Pattern[str]) -> str | None:
    if not text:
        return None
    match = pattern.search(text[:_MAX_SCAN])
    if match is None:
        return None
    return ".".join(str(int(group)) for group in match.groups())


def _basic_class(text: str) -> str:
    match = _BASIC_CODE.search(text)
    return match.group(1) if match else ""


def _strip_type(value: str) -> str:
    """Drop the ``smtp;`` diagnostic type of a Diagnostic-Code value."""
    typed = _TYPE_PREFIX.match(value)
    return value[typed.end() :] if typed else value


def _diagnostic_text(value: str) -> str:
    squashed = _WHITESPACE.sub(" ", value[: _MAX_DIAGNOSTIC * 4]).strip()
    return squashed[:_MAX_DIAGNOSTIC]


# --- delivery reports ----------------------------------------------------------------------


def _read_dsn(parts: list[Message], parsed: ParsedMessage, text: str) -> tuple[Bounce | None, str]:
    recipients: list[list[tuple[str, str]]] = []
    for part in parts:
        if _content_type(part) in _DELIVERY_STATUS_TYPES:
            for block in _blocks(_part_text(part)):
                keys = {key for key, _ in block}
                if keys & {"final-recipient", "original-recipient", "action", "status"}:
                    recipients.append(block)
    if not recipients:
        return None, _NO_RECIPIENT_FIELDS

    def action_of(block: list[tuple[str, str]]) -> str | None:
        return _token(_field(block, "action") or "") or None

    def class_of(block: list[tuple[str, str]]) -> str:
        code = _enhanced(_field(block, "status"), _ENHANCED_FIELD)
        return code[0] if code else ""

    chosen = (
        next((b for b in recipients if action_of(b) == "failed"), None)
        or next((b for b in recipients if action_of(b) is None and class_of(b) == "5"), None)
        or next((b for b in recipients if action_of(b) == "delayed"), None)
        or next((b for b in recipients if action_of(b) is None and class_of(b) == "4"), None)
    )
    if chosen is None:
        actions = sorted({action_of(b) or "no action" for b in recipients})
        return None, f"delivery report: {_quote(', '.join(actions))} (not a failure)"

    action = action_of(chosen)
    diagnostic = _diagnostic_text(_strip_type(_field(chosen, "diagnostic-code") or ""))
    if not diagnostic:
        diagnostic = _plain_diagnostic(_failure_section(text))
    status = _enhanced(_field(chosen, "status"), _ENHANCED_FIELD) or _enhanced(
        diagnostic, _ENHANCED_TEXT
    )
    recipient = (
        _address(_field(chosen, "final-recipient"))
        or _address(_field(chosen, "original-recipient"))
        or next(iter(parsed.failed_recipients), None)
    )
    original_id = _original_message_id(parts, text, parsed)
    bounce = Bounce(
        original_message_id=original_id,
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        hard=is_hard_bounce(status, action, diagnostic),
    )
    summary = " ".join(x for x in (action or "", status or "") if x) or "failure"
    return bounce, f"delivery status notification (RFC 3464): {_quote(summary)}"


def _original_message_id(parts: list[Message], text: str, parsed: ParsedMessage) -> str | None:
    """The returned message's Message-ID: enclosed copy, quoted copy, then In-Reply-To."""
    headers = _original_headers(parts)
    if headers is not None:
        found = _message_id(_field(headers, "message-id"))
        if found:
            return found
    for match in _MESSAGE_ID_LINE.finditer(text):
        found = _message_id(match.group(1))
        if found and found != parsed.message_id:
            return found
    if parsed.in_reply_to:
        return parsed.in_reply_to
    return parsed.references[-1] if parsed.references else None


# --- plain-text bounces --------------------------------------------------------------------


def _failure_section(text: str) -> str:
    """The bounce's own words: everything before the returned copy of the original."""
    marker = _COPY_MARKER.search(text)
    return text[: marker.start()] if marker else text


def _read_plain_bounce(
    parsed: ParsedMessage, text: str, parts: Callable[[], list[Message]]
) -> tuple[Bounce, str] | None:
    headers = parsed.headers
    sender = parsed.from_.email if parsed.from_ is not None else headers.get("from", "")
    section = _failure_section(text)
    lowered = _WHITESPACE.sub(" ", section.lower())  # phrases wrap at any word
    subject = _squashed_subject(parsed)
    phrase = next((p for p in _BOUNCE_BODY_PHRASES if p in lowered), None)
    if phrase is None:
        found = _BOUNCE_SUBJECT.match(subject) or _BOUNCE_BODY.search(lowered)
        if found is None:
            return None
        phrase = found.group(0)

    delayed = "delayed" in subject or any(p in lowered or p in subject for p in _DELAY_PHRASES)
    action = "delayed" if delayed else "failed"
    diagnostic = _plain_diagnostic(section)
    status = _enhanced(diagnostic or section, _ENHANCED_TEXT)
    recipient = next(iter(parsed.failed_recipients), None) or _plain_recipient(section, sender)
    # With a code the server's own text decides; without one the bounce's wording may
    # ("This is a permanent error", "Technical details of temporary failure").
    decisive = status is not None or _basic_class(diagnostic.lower()) != ""
    hard_text = diagnostic if decisive else f"{diagnostic}\n{section}"
    bounce = Bounce(
        original_message_id=_original_message_id(parts(), text, parsed),
        recipient=recipient,
        status=status,
        action=action,
        diagnostic=diagnostic,
        hard=is_hard_bounce(status, action, hard_text),
    )
    return bounce, f"plain-text bounce: {_quote(phrase)}"


def _plain_recipient(section: str, sender: str) -> str | None:
    for pattern in _RECIPIENT_PATTERNS:
        for match in pattern.finditer(section):
            address = match.group(1).rstrip(".")
            if _plausible_recipient(address, sender):
                return address
    for match in _ANY_ADDR.finditer(section):
        address = match.group(1).rstrip(".")
        if _plausible_recipient(address, sender):
            return address
    return None


def _plausible_recipient(address: str, sender: str) -> bool:
    local = address.rpartition("@")[0]
    return address.lower() != sender.lower() and not _DAEMON_LOCAL.fullmatch(local)


def _plain_diagnostic(section: str) -> str:
    """The remote server's words in a plain-text bounce ("" when none can be told apart)."""
    for pattern, paragraph in _DIAGNOSTIC_PATTERNS:
        match = pattern.search(section)
        if match is None:
            continue
        rest = section[match.end() :]
        found = _paragraph(rest) if paragraph else rest.split("\n", 1)[0].rstrip("'")
        if found.strip():
            return _diagnostic_text(found)
    # Else the first line carrying an SMTP or enhanced code, to the end of its paragraph.
    offset = 0
    for line in section.split("\n"):
        if _BASIC_CODE.search(line) or _ENHANCED_TEXT.search(line):
            return _diagnostic_text(_paragraph(section[offset:]))
        offset += len(line) + 1
    return ""


def _paragraph(text: str) -> str:
    """Lines from the start of ``text`` to the next blank line (leading blank lines skipped)."""
    lines: list[str] = []
    for line in text.split("\n", 40)[:40]:
        if line.strip():
            lines.append(line.strip())
        elif lines:
            break
    return " ".join(lines[:12])


# --- feedback reports ----------------------------------------------------------------------


def _read_complaint(parts: list[Message]) -> tuple[Complaint | None, str]:
    fields: list[tuple[str, str]] = []
    for part in parts:
        if _content_type(part) == "message/feedback-report":
            for block in _blocks(_part_text(part)):
                fields.extend(block)
    feedback_type = _token(_field(fields, "feedback-type") or "")
    if not feedback_type:
        return None, "feedback report without Feedback-Type"
    if feedback_type not in _COMPLAINT_TYPES:
        return None, f"feedback report: {_quote(feedback_type)} (not a complaint)"
    original = _original_headers(parts) or []
    complaint = Complaint(
        feedback_type=feedback_type,
        original_recipient=_address(_field(fields, "original-rcpt-to"))
        or _first_address(_field(original, "to")),
        original_message_id=_message_id(_field(original, "message-id")),
    )
    return complaint, f"feedback report (RFC 5965): {feedback_type}"

"""A generated corpus of automated and human mail for the classifier (issue 9, item 3).

Why this exists: the classes of machine mail that once got an automatic answer and reached an
agent's queue (non-RFC 3464 bounces, antivirus notices, list moderation and loop notices,
Hotmail-style complaints without a feedback report, unusual daemon senders, auto-reply
subjects without headers) come in many shapes.  Each class here is built in many variants
(senders, languages, header sets, MIME structures, line ends) from a seeded generator, so the
classifier is held to the class, not to one sample; and the human mail that merely mentions
the trigger words ("delivery failed", "out of office", "virus", "moderator") keeps it honest
the other way.  ``tests/test_classify_corpus.py`` asserts on it and ``bench/classify.py``
prints the counts.

We are the desk ``desk@example.com``; our Message-IDs end in ``@desk.example.com``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.header import Header

__all__ = ["AUTOMATED", "HUMAN", "Sample", "corpus"]

DESK = "desk@example.com"


@dataclass(frozen=True)
class Sample:
    """One generated mail: its class, whether a machine sent it, what it must become."""

    name: str  # class name, e.g. "bounce-groupwise"
    automated: bool
    kinds: frozenset[str]  # acceptable classifier kinds
    raw: bytes
    original_id: str | None = None  # our Message-ID a bounce/complaint must be linked to
    recipient: str | None = None  # the address a bounce/complaint is about


BOUNCE = frozenset({"bounce"})
COMPLAINT = frozenset({"complaint"})
MACHINE = frozenset({"auto_reply", "list", "bounce"})
LISTISH = frozenset({"list", "auto_reply"})
CUSTOMER = frozenset({"customer"})

_HOSTS = ["mx1.example.net", "mail.example.org", "smtp.corp.example", "gw.example.co.uk"]
_PEOPLE = ["ann", "bob.smith", "c.jones", "dieter", "eve_w", "fatima", "gao.li", "hans-peter"]
_ORIGINAL_SUBJECTS = ["Your ticket #41", "Re: Refund [#77]", "Invoice 2025-03", "Re: Order 42"]


def _crlf(text: str, newline: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", newline).encode("utf-8")


def _encoded(subject: str, rng: random.Random) -> str:
    """Sometimes as an RFC 2047 encoded word, as many non-English systems send it."""
    if rng.random() < 0.3:
        return Header(subject, "utf-8").encode()
    return subject


class _Gen:
    def __init__(self, rng: random.Random, n: int) -> None:
        self.rng = rng
        self.n = n

    def pick(self, seq: list[str]) -> str:
        return self.rng.choice(seq)

    def rcpt(self) -> str:
        return f"{self.pick(_PEOPLE)}{self.rng.randrange(100)}@{self.pick(_HOSTS)}"

    def our_id(self) -> str:
        return f"{self.rng.getrandbits(48):x}.{self.n}@desk.example.com"

    def their_id(self, host: str) -> str:
        return f"<{self.rng.getrandbits(64):x}@{host}>"

    def original(self, mid: str, rcpt: str, *, body: bool = True) -> str:
        text = (
            f"Return-Path: <{DESK}>\n"
            f"Received: from desk.example.com (desk.example.com [198.51.100.10])\n"
            f"\tby relay.example.com with ESMTPS; Mon, 3 Feb 2025 10:00:00 +0000\n"
            f"Message-ID: <{mid}>\n"
            "Date: Mon, 03 Feb 2025 10:00:00 +0000\n"
            f"From: Example Support <{DESK}>\n"
            f"To: {rcpt}\n"
            f"Subject: {self.pick(_ORIGINAL_SUBJECTS)}\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
        )
        if body:
            text += "\nHello, your ticket has been updated. Kind regards, Example Support\n"
        return text

    def envelope(self, sender: str, subject: str, *, extra: str = "", null_path: bool) -> str:
        host = sender.rpartition("@")[2].rstrip(">") or self.pick(_HOSTS)
        head = "Return-Path: <>\n" if null_path else ""
        return (
            head + f"From: {sender}\n"
            f"To: {DESK}\n"
            f"Subject: {_encoded(subject, self.rng)}\n"
            "Date: Mon, 03 Feb 2025 10:05:00 +0000\n"
            f"Message-ID: {self.their_id(host)}\n" + extra
        )

    def enclose(self, head: str, text: str, original: str, how: str) -> str:
        """The notice with the original attached, quoted after a marker, or not at all."""
        if how == "rfc822" or how == "headers":
            ctype = "message/rfc822" if how == "rfc822" else "text/rfc822-headers"
            return (
                head + "MIME-Version: 1.0\n"
                'Content-Type: multipart/mixed; boundary="=_b0und"\n\n'
                "This is a multi-part message in MIME format.\n\n"
                "--=_b0und\nContent-Type: text/plain; charset=us-ascii\n\n"
                f"{text}\n--=_b0und\nContent-Type: {ctype}\n\n{original}\n--=_b0und--\n"
            )
        if how == "inline":
            marker = self.pick(
                [
                    "------ This is a copy of the message, including all the headers. ------",
                    "-------- Returned Mail --------",
                    "--- Below this line is a copy of the message.",
                    "------- Original message headers -------",
                ]
            )
            return (
                head
                + "Content-Type: text/plain; charset=utf-8\n\n"
                + (f"{text}\n\n{marker}\n\n{original}")
            )
        return head + "Content-Type: text/plain; charset=utf-8\n\n" + text + "\n"


# --- bounces in the styles that are not RFC 3464 ------------------------------------------


def _bounce(
    name: str,
    senders: list[str],
    subjects: list[str],
    body: Callable[[_Gen, str], str],
    *,
    structures: tuple[str, ...] = ("rfc822", "headers", "inline", "none"),
) -> Callable[[_Gen], Sample]:
    def make(g: _Gen) -> Sample:
        rcpt = g.rcpt()
        mid = g.our_id()
        how = g.pick(list(structures))
        sender = g.pick(senders).format(host=g.pick(_HOSTS))
        extra = ""
        if g.rng.random() < 0.3:
            extra += f"X-Failed-Recipients: {rcpt}\n"
        if how == "none":  # nothing returned: only the threading headers name our message
            extra += f"In-Reply-To: <{mid}>\nReferences: <{mid}>\n"
        head = g.envelope(sender, g.pick(subjects), extra=extra, null_path=g.rng.random() < 0.4)
        original = g.original(mid, rcpt, body=how != "headers")
        raw = g.enclose(head, body(g, rcpt), original, how)
        return Sample(name, True, BOUNCE, _crlf(raw, g.pick(["\r\n", "\n"])), mid, rcpt)

    return make


_GROUPWISE = _bounce(
    "bounce-groupwise",
    [
        "Mail Administrator <Postmaster@{host}>",
        "postmaster@{host}",
        "System Administrator <post_master@{host}>",
        "GroupWise Internet Agent <gwia-admin@{host}>",
    ],
    ["Message status - undeliverable", "Mail could not be delivered", "Undeliverable mail"],
    lambda g, rcpt: (
        "The message that you sent was undeliverable to the following:\n"
        f"\t{rcpt} (user not found)\n\n"
        "Possible alternative addresses:\n"
        f"\t{rcpt.replace('@', '.alt@')}\n"
    ),
)

_RETURNED = _bounce(
    "bounce-returned-mail",
    [
        "Mail Delivery Subsystem <MAILER-DAEMON@{host}>",
        "Mail Administrator <post_master@{host}>",
        "postmaster@{host}",
        "MAILER_DAEMON@{host}",
    ],
    [
        "Returned Mail - Error During Delivery",
        "Returned mail - error during delivery",
        "Returned mail: see transcript for details",
        "Returned mail: User unknown",
    ],
    lambda g, rcpt: (
        "------ Failed Recipients ------\n"
        f"<{rcpt}>: Requested action not taken: mailbox unavailable. [SMTP Error Code 550]\n"
    ),
)

_COULD_NOT = _bounce(
    "bounce-could-not-be-delivered",
    [
        "Mail System <postmaster@{host}>",
        "MAILER-DAEMON@{host}",
        "Mail Delivery System <mail-daemon@{host}>",
        "Postmaster <post.master@{host}>",
    ],
    ["Mail could not be delivered", "Message could not be delivered", "Mail not delivered"],
    lambda g, rcpt: g.pick(
        [
            f"Your mail to {rcpt} could not be delivered.\n"
            f"The remote server said: 550 5.1.1 <{rcpt}>: user unknown\n",
            "The following message could not be delivered to all recipients:\n\n"
            f"    {rcpt}: 550 No such user here\n",
            f"Die Nachricht an {rcpt} konnte nicht zugestellt werden.\n"
            "Grund: 550 5.1.1 Benutzer unbekannt\n",
            f"Le message n'a pas pu être remis à {rcpt}.\nRaison : 550 5.1.1 utilisateur inconnu\n",
        ]
    ),
)

_DOMINO = _bounce(
    "bounce-delivery-failure",
    [
        "Postmaster@{host}",
        "Mail Router <mail-router-admin@{host}>",
        "MAILER-DAEMON@{host}",
        "Mail Administrator <post_master@{host}>",
    ],
    [
        "DELIVERY FAILURE: User jdoe (jdoe@example.net) not listed in Domino Directory",
        "Delivery Failure",
        "Delivery failure report",
        "DELIVERY FAILURE: Error transferring to mx.example.net; Maximum hop count exceeded",
    ],
    lambda g, rcpt: (
        "Your message\n\n  Subject: Your ticket #41\n\n"
        f"was not delivered to:\n\n  {rcpt}\n\n"
        "because:\n\n  User jdoe (jdoe@example.net) not listed in Domino Directory\n"
    ),
)


def _gateway_body(g: _Gen, rcpt: str) -> str:
    return g.pick(
        [
            # IMail
            f"Invalid final delivery userid: {rcpt}\n",
            # Lotus Notes SMTP MTA
            f"------- Failure Reasons  --------\n\nUser not listed in public Name & Address "
            f"Book\n{rcpt}\n",
            # MailMarshal
            "Your message:\n   From:    desk@example.com\n   Subject: Your ticket #41\n\n"
            "Could not be delivered because of\n\n550 5.1.1 User unknown\n\n"
            f"The following recipients were affected: \n    {rcpt}\n",
            # Verizon's gateway (the subject is only "Re: <ours>")
            "Error: Invalid user address\n\nError message below:\n"
            "550 - Requested action not taken: no such user here\n\nMessage details:\n"
            f"  Subject: Your ticket #41\n  MAIL FROM: {DESK}\n  RCPT TO: {rcpt}\n",
            # m-FILTER (Japanese)
            "このメールは「m-FILTER」が自動的に生成して送信しています。\n"
            f"以下のメールアドレスへの送信に失敗しました。\n{rcpt}\n\n"
            f"-------server message\n550 5.1.1 <{rcpt}>: Recipient address rejected: "
            "User unknown in local recipient table\n",
        ]
    )


_GATEWAYS = _bounce(
    "bounce-other-gateways",
    [
        '"Postmaster" <postmaster@{host}>',
        "POSTMASTER <postmaster@{host}>",
        "post_master@{host}",
        "Mail Administrator <mailadmin@{host}>",
        "System Administrator <administrator@{host}>",
    ],
    [
        "Undeliverable Mail",
        "Undeliverable message",
        "failure notice",
        "Undeliverable Mail: Hi",
        "Re: Your ticket #41",
    ],
    _gateway_body,
    structures=("inline", "rfc822"),
)


def _exim(g: _Gen) -> Sample:
    """Exim's wording with the headers that usually give it away missing or mangled."""
    rcpt, mid, host = g.rcpt(), g.our_id(), g.pick(_HOSTS)
    sender = g.pick(
        [
            f"Mail Delivery System <Mailer-Daemon@{host}>",
            "MAILER-DAEMON",
            '"Mail Delivery System" <>',
            f"mailer-daemon@{host}",
            f"Mail Delivery System <MAILER_DAEMON@{host}>",
        ]
    )
    subject = g.pick(
        [
            "Mail delivery failed: returning message to sender",
            "Mail delivery failed",
            "Mail delivery failed : returning message to sender",
        ]
    )
    extra = g.pick(["", "Envelope-to: desk@example.com\n", "X-Spam-Score: 0.0\n"])
    head = g.envelope(sender, subject, extra=extra, null_path=g.rng.random() < 0.2)
    text = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {rcpt}\n"
        f"    SMTP error from remote mail server after RCPT TO:<{rcpt}>:\n"
        f"    550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown\n"
    )
    raw = g.enclose(head, text, g.original(mid, rcpt), g.pick(["inline", "rfc822"]))
    return Sample("bounce-exim-unusual", True, BOUNCE, _crlf(raw, "\r\n"), mid, rcpt)


_NDR_LANGUAGES = [
    ("Unzustellbar: ", "Die Nachricht konnte nicht an {rcpt} zugestellt werden."),
    ("Non remis : ", "Votre message n'a pas pu être remis à {rcpt}."),
    ("No se puede entregar: ", "No se pudo entregar el mensaje a {rcpt}."),
    ("Impossibile recapitare: ", "Non è stato possibile recapitare il messaggio a {rcpt}."),
    ("Onbestelbaar: ", "Uw bericht kon niet worden bezorgd bij {rcpt}."),
    ("Não é possível entregar: ", "Não foi possível entregar a mensagem para {rcpt}."),
    ("Kan inte levereras: ", "Meddelandet kunde inte levereras till {rcpt}."),
    ("Nie można dostarczyć: ", "Nie można dostarczyć wiadomości do {rcpt}."),
    ("Недоставляемое сообщение: ", "Сообщение не может быть доставлено {rcpt}."),
    ("Undeliverable: ", "Your message to {rcpt} couldn't be delivered."),
]


def _ndr_multilingual(g: _Gen) -> Sample:
    rcpt, mid, host = g.rcpt(), g.our_id(), g.pick(_HOSTS)
    prefix, sentence = g.rng.choice(_NDR_LANGUAGES)
    sender = g.pick(
        [
            f"Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@{host}>",
            f"postmaster@{host}",
            f"Systemadministrator <post_master@{host}>",
            f"Mail Delivery System <mailer-daemon@{host}>",
        ]
    )
    extra = "X-MS-Exchange-Message-Is-Ndr:\n" if g.rng.random() < 0.3 else ""
    head = g.envelope(
        sender, prefix + g.pick(_ORIGINAL_SUBJECTS), extra=extra, null_path=g.rng.random() < 0.3
    )
    text = (
        sentence.format(rcpt=rcpt)
        + f"\n\n{rcpt}\nRemote server: 550 5.1.1 RESOLVER.ADR.RecipNotFound\n"
    )
    raw = g.enclose(head, text, g.original(mid, rcpt), g.pick(["rfc822", "headers"]))
    return Sample("bounce-multilingual", True, BOUNCE, _crlf(raw, "\r\n"), mid, rcpt)


# --- other machine notices ----------------------------------------------------------------


def _antivirus(g: _Gen) -> Sample:
    host = g.pick(_HOSTS)
    sender = g.pick(
        [
            f"Content-filter at {host} <postmaster@{host}>",
            f"MailScanner <mailscanner@{host}>",
            f"Symantec Mail Security <sms-alerts@{host}>",
            f"Virus Alert <virus-alert@{host}>",
            f"AntiVirus Gateway <antivirus@{host}>",
            f"ScanMail for Exchange <scanmail@{host}>",
            f"PureMessage <puremessage@{host}>",
            f"Administrator <administrator@{host}>",
            f"AV Gateway <av-gateway@{host}>",
        ]
    )
    subject = g.pick(
        [
            "VIRUS (Eicar-Test-Signature) IN MAIL FROM YOU",
            "Virus found in a message you sent",
            "[Virus Warning] Your message was quarantined",
            "Warning: E-mail viruses detected",
            "Symantec Mail Security detected a virus based on a message you sent",
            "Virus detected: Your ticket #41",
            "Antivirus alert: infected attachment blocked",
            "Virenwarnung: Ihre Nachricht enthielt einen Virus",
            "Alerte virus : votre message a été mis en quarantaine",
            "BANNED CONTENTS ALERT",
        ]
    )
    body = g.pick(
        [
            "A virus was found in an email message you sent.\n"
            "Virus name: EICAR-Test-File (not a virus)\n"
            "Action taken: the message was quarantined.\n",
            "Our content checker found\n    virus: Eicar-Test-Signature\n"
            "in email presumably from you, to the following recipient.\n"
            "Delivery of the email was stopped!\n",
            "The attachment invoice.zip was infected with W32/Mydoom.A and has been removed.\n"
            "This is an automated message from the mail gateway.\n",
            "Die Nachricht wurde vom Virenscanner in Quarantäne verschoben.\nVirus: Eicar\n",
        ]
    )
    extra = g.pick(
        ["", "X-Mailer: MailScanner\n", "Precedence: bulk\n", "Auto-Submitted: auto-generated\n"]
    )
    if g.rng.random() < 0.6:
        extra = ""  # most gateways say nothing in their headers
    head = g.envelope(sender, subject, extra=extra, null_path=g.rng.random() < 0.3)
    raw = g.enclose(head, body, g.original(g.our_id(), g.rcpt()), g.pick(["none", "headers"]))
    return Sample("antivirus-notice", True, MACHINE, _crlf(raw, "\r\n"))


def _moderation(g: _Gen) -> Sample:
    host = "lists." + g.pick(_HOSTS)
    listname = g.pick(["users", "dev", "announce", "kunden"])
    sender = g.pick(
        [
            f"{listname}-bounces@{host}",
            f"{listname}-owner@{host}",
            f"{listname}-request@{host}",
            f"owner-{listname}@{host}",
            f"Mailman <mailman@{host}>",
            f"SYMPA <sympa@{host}>",
            f"L-Soft list server <LISTSERV@{host}>",
        ]
    )
    subject = g.pick(
        [
            f"Your message to {listname.title()} awaits moderator approval",
            f"Your message to {listname}@{host} awaits moderator approval",
            f"Your message to {listname} is being held for approval",
            "Message held for moderation",
            f"Ihre Nachricht an {listname} wartet auf Freigabe durch den Moderator",
            f"Votre message à {listname} attend l'approbation du modérateur",
        ]
    )
    body = (
        f"Your mail to '{listname}' with the subject\n\n    Your ticket #41\n\n"
        "Is being held until the list moderator can review it for approval.\n\n"
        "The reason it is being held:\n\n    Post by non-member to a members-only list\n"
    )
    extra = ""
    if g.rng.random() < 0.4:
        extra += f"List-Id: <{listname}.{host}>\n"
    if g.rng.random() < 0.3:
        extra += "Precedence: bulk\n"
    if g.rng.random() < 0.5:
        extra = ""  # some list managers send their own notices with no list headers
    head = g.envelope(sender, subject, extra=extra, null_path=False)
    raw = g.enclose(head, body, "", "none")
    return Sample("list-moderation", True, LISTISH, _crlf(raw, "\r\n"))


def _loop(g: _Gen) -> Sample:
    host = "lists." + g.pick(_HOSTS)
    listname = g.pick(["users", "support-l", "news"])
    sender = g.pick(
        [
            f"{listname}-owner@{host}",
            f"owner-{listname}@{host}",
            f"Majordomo <majordomo@{host}>",
            f"LISTSERV@{host}",
            f"{listname}-request@{host}",
            f"{listname}-admin@{host}",
        ]
    )
    subject = g.pick(
        [
            "Mail loop detected",
            f"Loop detected on list {listname}",
            "Message rejected: mail loop",
            f"{listname}: possible mail loop",
            "Boucle de messagerie détectée",
        ]
    )
    body = (
        f"A message sent to the {listname} list appears to be looping: it already\n"
        "carries this list's X-Loop header. The message was not distributed.\n"
    )
    head = g.envelope(sender, subject, null_path=g.rng.random() < 0.2)
    raw = g.enclose(
        head, body, g.original(g.our_id(), f"{listname}@{host}"), g.pick(["none", "headers"])
    )
    return Sample("list-loop-alert", True, LISTISH, _crlf(raw, "\r\n"))


def _hotmail_complaint(g: _Gen) -> Sample:
    domain = g.pick(["hotmail.com", "outlook.com", "live.com"])
    rcpt = f"{g.pick(_PEOPLE)}{g.rng.randrange(100)}@{domain}"
    mid = g.our_id()
    sender = g.pick(
        [
            "staff@hotmail.com",
            "Outlook.com Feedback <jmrp-noreply@microsoft.com>",
            "staff@outlook.com",
        ]
    )
    ip = f"203.0.113.{g.rng.randrange(1, 250)}"
    subject = g.pick(
        [f"complaint about message from {ip}", "complaint about message", f"Abuse report for {ip}"]
    )
    body = g.pick(
        [
            f"This is an email abuse report for an email message received from IP {ip} on "
            "Mon, 03 Feb 2025 10:00:00 -0800.\nFor more information about this format please see "
            "http://postmaster.example/jmrp.\n",
            "This is an email abuse report. A recipient marked the attached message as junk.\n",
        ]
    )
    original = g.original(mid, rcpt)
    if g.rng.random() < 0.8:
        original = f"X-HmXmrOriginalRecipient: <{rcpt}>\n" + original
    head = g.envelope(sender, subject, null_path=False)
    raw = g.enclose(head, body, original, "rfc822")
    return Sample("complaint-hotmail-mixed", True, COMPLAINT, _crlf(raw, "\r\n"), mid, rcpt)


def _daemon_sender(g: _Gen) -> Sample:
    """Senders that are machines by name alone, with a subject and body saying nothing."""
    host = g.pick(_HOSTS)
    sender = g.pick(
        [
            f"post_master@{host}",
            f"Post Master <POST_MASTER@{host}>",
            f"sales-admin@{host}",
            f"Mailing list <news-admin@{host}>",
            f"users-bounces+desk=example.com@lists.{host}",
            f"users-owner@lists.{host}",
            f"owner-users@lists.{host}",
            f"users-request@lists.{host}",
            f"mailer_daemon@{host}",
            f"MAILERDAEMON@{host}",
        ]
    )
    subject = g.pick(["Notification", "Re: Your ticket #41", "Information", "(no subject)"])
    body = g.pick(["Please see below.\n", "Your request has been processed.\n", "Hello.\n"])
    head = g.envelope(sender, subject, null_path=False)
    return Sample(
        "daemon-sender", True, MACHINE | LISTISH, _crlf(g.enclose(head, body, "", "none"), "\r\n")
    )


_AUTO_SUBJECTS = [
    "Auto reply: {s}",
    "Auto Reply: {s}",
    "Automatic reply: {s}",
    "AutoReply: {s}",
    "Auto-Reply: {s}",
    "Auto Response: {s}",
    "Out of Office: {s}",
    "Out of Office AutoReply: {s}",
    "Out of office",
    "Out of the office until 10 February",
    "Automatische Antwort: {s}",
    "Abwesenheitsnotiz: {s}",
    "Réponse automatique : {s}",
    "Respuesta automática: {s}",
    "Risposta automatica: {s}",
    "Automatisch antwoord: {s}",
    "Resposta automática: {s}",
    "Autosvar: {s}",
    "Automaattinen vastaus: {s}",
    "Odpowiedź automatyczna: {s}",
    "Автоматический ответ: {s}",
    "自动回复: {s}",
]


def _ooo(g: _Gen) -> Sample:
    host = g.pick(["example.net", "corp.example", "mail.example.org"])
    person = g.pick(_PEOPLE)
    sender = f"{person.title()} <{person}@{host}>"
    subject = g.pick(_AUTO_SUBJECTS).format(s=g.pick(_ORIGINAL_SUBJECTS))
    body = g.pick(
        [
            "I am out of the office until 10 February with no access to email.\n",
            "Thank you for your message. I am currently on leave and will reply when I return.\n",
            "Ich bin bis zum 10. Februar nicht im Büro.\n",
            "Je suis absent jusqu'au 10 février.\n",
            "Hello,\n\nthanks for your email.\n",
        ]
    )
    extra = f"In-Reply-To: <{g.our_id()}>\n" if g.rng.random() < 0.5 else ""
    head = g.envelope(sender, subject, extra=extra, null_path=False)
    return Sample(
        "auto-reply-subject", True, MACHINE, _crlf(g.enclose(head, body, "", "none"), "\r\n")
    )


_AWAY_SUBJECTS = [
    "Vacation reply: {s}",
    "Vacation Auto-Reply: {s}",
    "Vacation response: {s}",
    "Away from the office: {s}",
    "Away from my office: {s}",
    "[Auto-Reply] {s}",
    "[Auto Reply] {s}",
    "[Out of Office] {s}",
    "[OOO] {s}",
    "Abwesend: {s}",
    "Außer Haus: {s}",
    "Fuera de la oficina: {s}",
    "Absence du bureau : {s}",
    "Absent du bureau : {s}",
    "Afwezig: {s}",
    "Afwezigheidsmelding: {s}",
    "Fuori ufficio: {s}",
    "Frånvarande: {s}",
    "Fraværende: {s}",
    "Poza biurem: {s}",
]


def _away(g: _Gen) -> Sample:
    """Away notices whose subject names the absence rather than the automation, no header."""
    host = g.pick(["example.net", "corp.example", "mail.example.org"])
    person = g.pick(_PEOPLE)
    subject = g.pick(_AWAY_SUBJECTS).format(s=g.pick(_ORIGINAL_SUBJECTS))
    body = g.pick(
        [
            "I am on vacation until Monday and will read your mail when I am back.\n",
            "Estoy fuera de la oficina hasta el lunes.\n",
            "Ik ben afwezig tot maandag.\n",
            "Sono fuori ufficio fino a lunedì.\n",
            "Hello,\n\nthanks for your email.\n",
        ]
    )
    extra = f"In-Reply-To: <{g.our_id()}>\n" if g.rng.random() < 0.5 else ""
    head = g.envelope(f"{person.title()} <{person}@{host}>", subject, extra=extra, null_path=False)
    raw = g.enclose(head, body, "", "none").replace(
        "charset=utf-8\n", "charset=utf-8\nContent-Transfer-Encoding: 8bit\n", 1
    )
    return Sample("auto-reply-away-subject", True, MACHINE, _crlf(raw, g.pick(["\r\n", "\n"])))


def _antivirus_product(g: _Gen) -> Sample:
    """Gateway notices signed only by the product's name, from an address saying nothing."""
    host = g.pick(_HOSTS)
    name = g.pick(
        ["PureMessage", "Mimecast Notification", "Barracuda Email Security", "Proofpoint",
         "IronPort", "MailMarshal", "FortiMail", "Sophos Email", "Trend Micro IMSS",
         "Kaspersky Security"]
    )  # fmt: skip
    local = g.pick(["pmx", "notify", "gw01", "mx-filter", "relay", "esg"])
    subject = g.pick(
        [
            'Virus found in message "Your ticket #41"',
            "Virus detected: Your ticket #41",
            "[VIRUS] Your ticket #41",
            "Virus alert: message blocked",
        ]
    )
    body = g.pick(
        [
            "A virus was found in a message from you. Virus: Troj/Agent-XYZ.\n"
            "The message was not delivered.\n",
            "The message you sent was found to contain a virus and has been quarantined.\n",
            "Your message contained a virus (Eicar-Test-Signature) and was quarantined.\n",
        ]
    )
    head = g.envelope(f"{name} <{local}@{host}>", subject, null_path=False)
    raw = g.enclose(head, body, g.original(g.our_id(), g.rcpt()), g.pick(["none", "headers"]))
    return Sample("antivirus-product-sender", True, MACHINE, _crlf(raw, "\r\n"))


# --- human mail that mentions the trigger words -----------------------------------------------

_HUMAN_SUBJECTS = [
    "Re: delivery of my order failed",
    "Delivery failure - order 1234",
    "Question about your out of office policy",
    "Out of office hours support?",
    "Returned mail order #5512",
    "Returned item not refunded",
    "Mail could not be delivered to your sales address?",
    "My message to you could not be delivered",
    "Virus on your download page?",
    "Re: virus warning on the invoice attachment",
    "Moderator approval for my product review",
    "My post awaits moderator approval for days",
    "Complaint about message from your agent",
    "Abuse report: your agent was rude",
    "Re: Automatic renewal",
    "Fwd: Mail delivery failed: returning message to sender",
    "Fwd: Undeliverable: Your ticket #41",
    "Re: Out of office",
    "AW: Unzustellbar",
    "Auto insurance quote",
    "Automatic payments stopped",
    "Loop in the billing system?",
    "Undelivered parcel",
    "Delivery Status of my order (failure?)",
    "Failure notice from your app",
    "Postmaster general question",
    "Admin rights for my account",
    "Warning: your site shows an error",
    "Is there an auto reply when I write?",
    "Out of office next week - please reschedule the delivery",
    "On holiday until May: please hold my order",
    "Returned mail - wrong address on the parcel",
    "Mail delivery failed",
    "Undeliverable parcel, what now?",
    "Virus warning on your site",
    "Spam report: stop mailing me",
    "OOO question: are you open on holidays?",
    "Automatic reply from your system never came",
    "Delivery delayed again!",
    "Vacation: can you deliver before I leave?",
    "Away from office next week, deliver on Monday",
    "Re: Automatic reply: Your ticket #41",
    "Re: [Auto-Reply] Your ticket #41",
    "Absence de réponse depuis une semaine",
    "Abwesenheit nächste Woche, Lieferung verschieben?",
    "Auto reply settings in your app",
    "Message rejected by your contact form",
    "Virus detected in your attachment?",
    "Order awaits approval from my manager",
]

_HUMAN_BODIES = [
    "Hello, the courier says the delivery failed and the parcel was returned. Can you resend?\n",
    "I tried to email your sales team but got 'Your message could not be delivered'.\n"
    "Could you pass this on?\n",
    "Your out of office reply said you are back on Monday. Is the shop open on Saturday?\n",
    "My antivirus says the invoice PDF contains a virus and was quarantined. Please resend.\n",
    "I posted a review two days ago and it still awaits moderator approval.\n",
    "We seem to be in a loop: every time I reply I get the same answer.\n",
    "I want to file a complaint about a message from your agent; it was rude.\n",
    "Mail delivery failed, my mail server says. What address should I use?\n"
    "---------- Forwarded message ---------\nFrom: Mail Delivery System "
    "<Mailer-Daemon@mx.example.net>\nSubject: Mail delivery failed\n\n"
    "A message that you sent could not be delivered to one or more of its recipients.\n",
    "Hi, I am out of office next week, please call my colleague about the order.\n",
    "Thanks! Delivery to the following address failed last time: please use the new one.\n",
    "-----Original Message-----\nFrom: Example Support <desk@example.com>\n"
    "Subject: Your ticket #41\n\nOK, thanks for the quick answer.\n",
    "I marked your newsletter as spam by mistake, sorry. Abuse report withdrawn.\n",
    "The message was not delivered to my colleague, the parcel was returned to sender.\n",
    "Our IT says the mail was quarantined, it contained a virus. Virus name: unknown.\n",
    "I am on holiday until May, please hold my order; I will be out of the office.\n",
    "Sorry, I was out of office last week. Your auto reply said you would call back.\n",
    "On Mon, Example Support wrote:\n> This is an automatic answer: we received your mail.\n"
    "> Please do not reply to this message.\nBut I still need the invoice corrected.\n",
    "I will be away from the office on vacation; please deliver to my neighbour.\n",
    "Is this list moderated? My post is being held for approval by the list moderator.\n",
]

_HUMAN_SENDERS = [
    "Ann Example <ann@example.org>",
    "bob.smith@example.net",
    '"Müller, Hans" <hans.mueller@example.de>',
    "Office <office@smallbiz.example>",
    "Info <info@shop.example>",
    "admin@smallbiz.example",
    "Support Team <support@customer.example>",
    "Postma Sterling <postma@example.net>",
    "daemon.fan@example.net",
    "Owner <owner@bakery.example>",
    "Requester <request@example.org>",
    "mailer@example.org",
    # People whose display name sounds like a machine: the name alone is no evidence.
    "Postmaster Pat <pat@example.net>",
    "System Administrator <jane.doe@corp.example>",
    '"Mail System (IT)" <it.helpdesk.team@corp.example>',
]


def _human(g: _Gen) -> Sample:
    sender = g.pick(_HUMAN_SENDERS)
    subject = g.pick(_HUMAN_SUBJECTS)
    body = g.pick(_HUMAN_BODIES)
    extra = g.pick(
        [
            "",
            "Auto-Submitted: no\n",
            "X-Mailer: Microsoft Outlook 16.0\n",
            "Return-Path: <ann@example.org>\n",
            f"In-Reply-To: <{g.our_id()}>\nReferences: <{g.our_id()}>\n",
            "X-Auto-Response-Suppress: None\n",
            # Exchange and Outlook ask for no automatic answer on people's mail too.
            "X-Auto-Response-Suppress: All\n",
            "X-Auto-Response-Suppress: RN, NRN, OOF\n",
            "X-Auto-Response-Suppress: DR, OOF, AutoReply\n",
        ]
    )
    head = g.envelope(sender, subject, extra=extra, null_path=False)
    how = g.pick(["none", "none", "none", "rfc822"])
    # A customer who forwards our mail as an attachment ("is this really from you?").
    raw = g.enclose(head, body, g.original(g.our_id(), "ann@example.org"), how)
    return Sample("human", False, CUSTOMER, _crlf(raw, g.pick(["\r\n", "\n"])))


AUTOMATED: dict[str, Callable[[_Gen], Sample]] = {
    "bounce-groupwise": _GROUPWISE,
    "bounce-returned-mail": _RETURNED,
    "bounce-could-not-be-delivered": _COULD_NOT,
    "bounce-delivery-failure": _DOMINO,
    "bounce-exim-unusual": _exim,
    "bounce-other-gateways": _GATEWAYS,
    "bounce-multilingual": _ndr_multilingual,
    "antivirus-notice": _antivirus,
    "list-moderation": _moderation,
    "list-loop-alert": _loop,
    "complaint-hotmail-mixed": _hotmail_complaint,
    "daemon-sender": _daemon_sender,
    "auto-reply-subject": _ooo,
    "auto-reply-away-subject": _away,
    "antivirus-product-sender": _antivirus_product,
}
HUMAN: dict[str, Callable[[_Gen], Sample]] = {"human": _human}


def corpus(per_class: int = 40, seed: int = 9) -> Iterator[Sample]:
    """``per_class`` variants of every automated class, and five times as much human mail."""
    rng = random.Random(seed)
    for make in AUTOMATED.values():
        for n in range(per_class):
            yield make(_Gen(rng, n))
    for make in HUMAN.values():
        for n in range(per_class * 5):
            yield make(_Gen(rng, n))


# --- single reports for the effect tests ------------------------------------------------------


def delivery_report(
    original_id: str,
    recipient: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 Recipient address rejected: User unknown",
    to: str = DESK,
) -> bytes:
    """An RFC 3464 report (Postfix's layout) about our message ``original_id`` (no brackets)."""
    subject = (
        "Delayed Mail (still being retried)"
        if action == "delayed"
        else ("Undelivered Mail Returned to Sender")
    )
    return _crlf(
        "Return-Path: <>\n"
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
        f"To: {to}\nSubject: {subject}\n"
        f"Message-ID: <{random.getrandbits(64):x}@mx.example.net>\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n'
        "--R\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.net.\n\n"
        "--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n"
        "--R\nContent-Type: text/rfc822-headers\n\n"
        f"From: {to}\nTo: {recipient}\nMessage-ID: <{original_id}>\nSubject: Re: Order 42\n\n"
        "--R--\n",
        "\r\n",
    )


def arf_complaint(original_id: str, recipient: str, *, to: str = DESK) -> bytes:
    """An RFC 5965 abuse report about our message."""
    return _crlf(
        f"From: abuse@isp.example\nTo: {to}\nSubject: Abuse report\n"
        f"Message-ID: <{random.getrandbits(64):x}@isp.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n'
        "--F\nContent-Type: text/plain\n\nThis is an abuse report.\n"
        "--F\nContent-Type: message/feedback-report\n\n"
        f"Feedback-Type: abuse\nUser-Agent: Test/1.0\nVersion: 1\nOriginal-Rcpt-To: {recipient}\n"
        "\n--F\nContent-Type: text/rfc822-headers\n\n"
        f"From: {to}\nTo: {recipient}\nMessage-ID: <{original_id}>\n\n--F--\n",
        "\r\n",
    )


def sample_of(name: str, seed: int = 1) -> Sample:
    """One variant of an automated class, e.g. ``sample_of("bounce-groupwise")``."""
    return AUTOMATED[name](_Gen(random.Random(seed), 0))


def hotmail_complaint(original_id: str, recipient: str, *, to: str = DESK) -> bytes:
    """Hotmail's complaint: plain multipart/mixed, the original attached, no feedback report."""
    return _crlf(
        f"From: staff@hotmail.com\nTo: {to}\nSubject: complaint about message from 203.0.113.5\n"
        f"Message-ID: <{random.getrandbits(64):x}@hotmail.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="H"\n\n'
        "--H\nContent-Type: text/plain\n\nThis is an email abuse report for an email message "
        "received from IP 203.0.113.5 on Mon, 03 Feb 2025 10:00:00 -0800.\n"
        "--H\nContent-Type: message/rfc822\n\n"
        f"X-HmXmrOriginalRecipient: <{recipient}>\nFrom: {to}\nTo: {recipient}\n"
        f"Message-ID: <{original_id}>\nSubject: Re: Order 42\n\nHello.\n--H--\n",
        "\r\n",
    )


def failed_recipients_bounce(recipient: str, *, to: str = DESK) -> bytes:
    """Exim's bounce with nothing of the original left: only X-Failed-Recipients names it."""
    return _crlf(
        "Return-path: <>\n"
        f"X-Failed-Recipients: {recipient}\n"
        "From: Mail Delivery System <Mailer-Daemon@smtp.example.org>\n"
        f"To: {to}\nSubject: Mail delivery failed: returning message to sender\n"
        f"Message-ID: <{random.getrandbits(64):x}@smtp.example.org>\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {recipient}\n    550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\n",
        "\r\n",
    )

"""The three ways a dialer recipient unsubscribes, as pure rules: the headers mailbox
providers read (RFC 2369 / RFC 8058), the link filled into the dialer's HTML, and the
subject of the mail to the unsubscribe address."""

from __future__ import annotations

from email import message_from_string
from email.policy import default

import pytest

from engine.domain.unsubscribe import (
    UnsubscribeHtmlError,
    check_html,
    fill_link,
    headers,
    mailto,
    token_of_request,
    unsubscribe_problem,
)
from engine.domain.web_links import Links

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
LINKS = Links("https://feedback.example.com", TOKEN)


def test_the_headers_providers_read() -> None:
    got = headers(LINKS, "sales@postdesk.test")
    assert got["List-Unsubscribe"] == (
        f"<https://feedback.example.com/u/{TOKEN}>, "
        f"<mailto:sales@postdesk.test?subject=unsubscribe%20{TOKEN}>"
    )
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # As a header of a real message, each is one line a parser reads back unchanged.
    raw = "".join(f"{name}: {value}\r\n" for name, value in got.items()) + "\r\nbody"
    parsed = message_from_string(raw, policy=default)
    assert str(parsed["List-Unsubscribe"]) == got["List-Unsubscribe"]


def test_a_mailto_address_is_quoted() -> None:
    assert mailto("odd name@postdesk.test", TOKEN).startswith("mailto:odd%20name@postdesk.test?")


@pytest.mark.parametrize(
    ("subject", "token"),
    [
        (f"unsubscribe {TOKEN}", TOKEN),
        (f"  UNSUBSCRIBE   {TOKEN} ", TOKEN),
        (f"Re: unsubscribe {TOKEN}", None),  # not what our link writes
        ("unsubscribe", None),
        (f"unsubscribe {TOKEN}x", None),
        ("unsubscribe ../../etc/passwd00000000000", None),
        (f"please unsubscribe {TOKEN}", None),
    ],
)
def test_the_subject_of_an_unsubscribe_mail(subject: str, token: str | None) -> None:
    assert token_of_request(subject) == token


def test_the_link_is_filled_and_the_rest_kept() -> None:
    html = (
        '<p>Bye?</p>\n<p>Click <a class="u" id="unsubscribe_link" href="#" title="a&amp;b">'
        "here</a> to stop.</p>"
    )
    filled = fill_link(html, f"https://feedback.example.com/u/{TOKEN}?x=1&y=2")
    assert (
        '<a class="u" id="unsubscribe_link" title="a&amp;b" '
        f'href="https://feedback.example.com/u/{TOKEN}?x=1&amp;y=2">here</a>'
    ) in filled
    assert filled.startswith("<p>Bye?</p>\n<p>Click ") and filled.endswith(" to stop.</p>")
    assert 'href="#"' not in filled


def test_the_link_is_found_on_any_line_and_in_any_case() -> None:
    html = "<div>\n  <p>\n    <A ID='unsubscribe_link'>Stop</A>\n  </p>\n</div>"
    filled = fill_link(html, "https://x.test/u/t")
    assert '<a id="unsubscribe_link" href="https://x.test/u/t">Stop</A>' in filled


@pytest.mark.parametrize(
    ("html", "words"),
    [
        ("<p>no link</p>", "must hold a link"),
        ('<a id="unsubscribe">x</a>', "must hold a link"),
        ('<!-- <a id="unsubscribe_link"> -->', "must hold a link"),
        ('<a id="unsubscribe_link"></a>', "with text"),
        ('<a id="unsubscribe_link">a</a><a id="unsubscribe_link">b</a>', "keep exactly"),
    ],
)
def test_html_without_exactly_one_link_is_refused(html: str, words: str) -> None:
    with pytest.raises(UnsubscribeHtmlError, match=words):
        check_html(html)


def test_the_link_the_check_accepts_is_the_link_that_is_filled() -> None:
    # One parser for both: an id written with spaces around it passes the form's check, so
    # the link must be found and filled too (two parsers once disagreed on it).
    html = '<p>Bye? <a id=" unsubscribe_link " href="#">Leave</a></p>'
    assert unsubscribe_problem(html) == ""
    filled = fill_link(html, "https://mail.example/u/TOKEN")
    assert 'href="https://mail.example/u/TOKEN"' in filled and 'href="#"' not in filled
    # Whatever the check refuses, filling refuses too (never a mail without its link).
    for bad in ("<p>no link</p>", '<a id="unsubscribe_link"></a>', '<a id="unsubscribe_link">'):
        assert unsubscribe_problem(bad)
        with pytest.raises(UnsubscribeHtmlError):
            fill_link(bad, "https://mail.example/u/TOKEN")

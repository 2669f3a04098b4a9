"""The mails the benchmark measures, built deterministically (no randomness, no files).

- ``reply``: a typical 20 KB reply as Gmail sends it: multipart/alternative, a short answer
  above the quoted thread, in plain text and HTML.
- ``newsletter``: a 200 KB HTML-only newsletter (tables, inline styles, many links and
  images), quoted-printable: the HTML -> Markdown path at its most expensive.
- ``attachments``: a 10 MB mail, a short text and three base64 attachments (PDF, PNG, ZIP).

Each carries the header block SES prepends, so the authenticity checks run as in Lambda.
"""

from __future__ import annotations

import base64
import hashlib
import quopri
from collections.abc import Callable

SES_BLOCK = (
    "Return-Path: <alice@example.com>\r\n"
    "Received: from mx.example.com (mx.example.com [192.0.2.1])\r\n"
    " by inbound-smtp.eu-west-1.amazonaws.com with SMTP id bench0001\r\n"
    " for 7@issues.example.com;\r\n"
    " Mon, 23 Nov 2026 09:14:03 +0000 (UTC)\r\n"
    "X-SES-Spam-Verdict: PASS\r\n"
    "X-SES-Virus-Verdict: PASS\r\n"
    "Received-SPF: pass (spfCheck: domain of example.com designates 192.0.2.1 as permitted"
    " sender) client-ip=192.0.2.1; envelope-from=alice@example.com; helo=mx.example.com;\r\n"
    "Authentication-Results: amazonses.com;\r\n"
    " spf=pass (spfCheck: domain of example.com designates 192.0.2.1 as permitted sender)"
    " client-ip=192.0.2.1; envelope-from=alice@example.com; helo=mx.example.com;\r\n"
    " dkim=pass header.i=@example.com;\r\n"
    " dmarc=pass header.from=example.com;\r\n"
    "X-SES-RECEIPT: AEFBQUFBQUFBQUFHcjJ0eW1o\r\n"
    "X-SES-DKIM-SIGNATURE: a=rsa-sha256; q=dns/txt; b=c2ln; c=relaxed/simple; s=x;"
    " d=amazonses.com; t=1795424043; v=1; bh=Ym9k; h=From:To:Subject;\r\n"
)

ROUTES = """\
routes:
  - domain: issues.example.com
    repo: example-org/app
    allowed_senders: [example.com]
"""

_SENTENCES = (
    "The nightly build on the ARM runners fails while linking the test binary.",
    "It started after the toolchain update last Tuesday; x86 is unaffected.",
    "Setting LDFLAGS=-fuse-ld=bfd works around it, but doubles the link time.",
    "I attached the log of the last failing run and the configuration we use.",
    "Could this be the same problem as the one reported for the 2.3 branch?",
)


def _headers(subject: str, content_type: str, extra: str = "") -> str:
    return (
        SES_BLOCK + "From: Alice Example <alice@example.com>\r\n"
        "To: 7@issues.example.com\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <bench-0001@mail.example.com>\r\n"
        "In-Reply-To: <bench-0000@mail.example.com>\r\n"
        "Date: Mon, 23 Nov 2026 09:13:51 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        f"Content-Type: {content_type}\r\n" + extra
    )


def _paragraph(n: int) -> str:
    return " ".join(_SENTENCES[(n + i) % len(_SENTENCES)] for i in range(3))


def reply(size: int = 20_000) -> bytes:
    """A reply above a quoted thread, as text and HTML, ``size`` bytes in all."""
    answer = [_paragraph(0), _paragraph(1), "", "Thanks,", "Alice"]
    quoted: list[str] = []
    html_quoted: list[str] = []
    n = 2
    while len("\n".join(quoted)) * 2.4 < size:
        quoted += [f"> {_paragraph(n)}", ">"]
        html_quoted.append(f"<div>{_paragraph(n)}</div><br>")
        n += 1
    text = "\r\n".join(
        [*answer, "", "On Sun, 22 Nov 2026 at 18:02, Bob <bob@example.org> wrote:", *quoted]
    )
    html = (
        '<div dir="ltr">'
        + "".join(f"<div>{line}</div>" for line in answer if line)
        + '</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "On Sun, 22 Nov 2026 at 18:02, Bob &lt;bob@example.org&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
        'border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        + "".join(html_quoted)
        + "</blockquote></div>"
    )
    boundary = "000000000000bench0reply"
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{text}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n{html}\r\n"
        f"--{boundary}--\r\n"
    )
    headers = _headers("Re: ARM link failure", f'multipart/alternative; boundary="{boundary}"')
    return (headers + "\r\n" + body).encode()


def newsletter(size: int = 200_000) -> bytes:
    """An HTML-only newsletter of about ``size`` bytes of HTML, quoted-printable."""
    return html_mail(prose_html(size), "Project newsletter, November")


def html_mail(html: str, subject: str) -> bytes:
    """An HTML-only mail of ``html``, quoted-printable, as newsletters and web mailers send."""
    body = quopri.encodestring(html.encode()).decode().replace("\n", "\r\n")
    headers = _headers(
        subject, "text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable\r\n"
    )
    return (headers + "\r\n" + body).encode()


def _binary(name: str, size: int) -> bytes:
    """``size`` incompressible bytes, the same on every run."""
    blocks = []
    seed = name.encode()
    for counter in range(size // 64 + 1):
        blocks.append(hashlib.sha512(seed + counter.to_bytes(8, "big")).digest())
    return b"".join(blocks)[:size]


def attachments(size: int = 10_000_000) -> bytes:
    """A short text and three base64 attachments, ``size`` bytes in all."""
    boundary = "bench0mixed0boundary"
    files = [
        ("build-log.pdf", "application/pdf", 0.5),
        ("screenshot.png", "image/png", 0.3),
        ("core-dump.zip", "application/zip", 0.2),
    ]
    text = "\r\n\r\n".join(_paragraph(n) for n in range(3))
    parts = [f"--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{text}\r\n"]
    for name, content_type, share in files:
        data = _binary(name, int(size * share * 3 / 4 * 0.99))
        encoded = base64.encodebytes(data).decode().replace("\n", "\r\n")
        parts.append(
            f'--{boundary}\r\nContent-Type: {content_type}; name="{name}"\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
        )
    body = "".join(parts) + f"--{boundary}--\r\n"
    headers = _headers("Logs of the failing build", f'multipart/mixed; boundary="{boundary}"')
    return (headers + "\r\n" + body).encode()


def many_routes(count: int, prefixes: tuple[str, ...] = ("", "web-", "api-", "docs-")) -> str:
    """A routes file of ``count`` routes: ``count / len(prefixes)`` domains, each with every
    prefix, each route its own repository and two sender domains."""
    lines = ["routes:"]
    for n in range(count):
        domain = f"issues.project{n // len(prefixes)}.example.org"
        prefix = prefixes[n % len(prefixes)]
        lines += [
            f"  - domain: {domain}",
            *([f"    prefix: {prefix}"] if prefix else []),
            f"    repo: org{n % 97}/project-{n}",
            f"    allowed_senders: [project{n // len(prefixes)}.example.org, '*.example.ac.uk']",
        ]
    return "\n".join(lines) + "\n"


# --- HTML by shape ----------------------------------------------------------------------------
# HTML-only mail comes in a few shapes whose conversion costs differ per byte. Each builder
# returns an HTML document of about ``size`` bytes; `make bench` converts each at five sizes.


def _document(size: int, head: str, piece: Callable[[int], str], tail: str) -> str:
    parts = [head]
    total, n = len(head) + len(tail), 0
    while total < size:
        part = piece(n)
        parts.append(part)
        total += len(part)
        n += 1
    parts.append(tail)
    return "".join(parts)


def prose_html(size: int) -> str:
    """A newsletter: a layout table of paragraphs, headings, links, images and short lists,
    each with the inline styles of a mailing tool."""
    head = (
        "<!DOCTYPE html><html><head><meta charset=utf-8><style>td{padding:0}"
        '.x{display:none}</style></head><body style="margin:0">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0">'
    )
    return _document(size, head, _newsletter_row, "</table></body></html>")


def _newsletter_row(n: int) -> str:
    return (
        '<tr><td style="padding:12px 24px;font-family:Helvetica,Arial,sans-serif;'
        'font-size:15px;line-height:22px;color:#333333">'
        f'<h2 style="margin:0 0 8px;font-size:19px">Release notes, part {n}</h2>'
        f"<p>{_paragraph(n)} <strong>{_SENTENCES[n % 5]}</strong></p>"
        f'<p><a href="https://example.org/news/{n}?utm_source=mail&amp;utm_medium=news"'
        f' style="color:#1a73e8">Read more</a> &middot; '
        f'<img src="https://example.org/img/{n}.png" width="120" height="80" alt="figure {n}">'
        f"</p><ul><li>{_SENTENCES[(n + 1) % 5]}</li><li>{_SENTENCES[(n + 2) % 5]}</li></ul>"
        "</td></tr>"
    )


def table_html(size: int) -> str:
    """A report: one data table of short cells, each with inline styles, many with a link."""
    head = '<html><body><table style="border-collapse:collapse;width:100%"><tr>' + "".join(
        f'<th style="padding:2px 6px;text-align:left">{name}</th>'
        for name in ("Job", "Runner", "Status", "Minutes", "Log")
    )
    return _document(size, head + "</tr>", _report_row, "</table></body></html>")


def _report_row(n: int) -> str:
    cell = '<td style="padding:2px 6px;border-bottom:1px solid #ddd;color:#333">'
    return (
        f'<tr style="background:{"#f6f8fa" if n % 2 else "#fff"}">'
        f'{cell}<a href="https://ci.example.org/job/{n}" style="color:#0969da">build-{n}</a></td>'
        f"{cell}arm64-{n % 7}</td>{cell}<b>{'passed' if n % 5 else 'failed'}</b></td>"
        f'{cell}{n % 61}</td>{cell}<a href="https://ci.example.org/log/{n}">log</a></td></tr>'
    )


def nested_html(size: int) -> str:
    """Markup nested as editors leave it: divs in divs, lists in lists, spans in spans."""
    return _document(size, "<html><body>", _nested_block, "</body></html>")


def _nested_block(n: int) -> str:
    depth = 3 + n % 6
    items = "".join(
        f"<li><span><span>{_SENTENCES[(n + i) % 5]}</span></span><ul><li>{i}</li></ul></li>"
        for i in range(3)
    )
    return "<div>" * depth + f"<p><em>{_paragraph(n)}</em></p><ol>{items}</ol>" + "</div>" * depth


def thread_html(size: int) -> str:
    """A reply chain as Gmail quotes it, eight messages deep, each quoting the one before: the
    messages grow with ``size``, the depth does not (each level prefixes every line below it)."""
    paragraphs = max(1, size // (_THREAD_DEPTH * 250))
    html = ""
    for n in range(_THREAD_DEPTH):
        text = "".join(f"<div>{_paragraph(n + i)}</div><div><br></div>" for i in range(paragraphs))
        html = (
            f'<div dir="ltr">{text}<div>Thanks,<br>Person {n + 1}</div></div><br>'
            '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            f"On Mon, {n + 1} Nov 2026 at 09:00, Person {n} &lt;p{n}@example.org&gt; wrote:"
            '<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
            f'border-left:1px solid rgb(204,204,204);padding-left:1ex">{html}</blockquote></div>'
        )
    return f"<html><body>{html}</body></html>"


_THREAD_DEPTH = 8


def links_html(size: int) -> str:
    """A digest: lines of links with tracking URLs, as notification and list digests are."""
    return _document(size, "<html><body>", _digest_line, "</body></html>")


def _digest_line(n: int) -> str:
    return (
        f'<p><a href="https://lists.example.org/t/{n}?utm_source=digest&amp;u={n * 7919}">'
        f'Topic {n}: {_SENTENCES[n % 5][:40]}</a> by <a href="mailto:p{n}@example.org">'
        f"p{n}@example.org</a><br><small>{_SENTENCES[(n + 3) % 5]}</small></p>"
    )


HTML_SHAPES: dict[str, Callable[[int], str]] = {
    "prose newsletter": prose_html,
    "table-heavy report": table_html,
    "nested divs and lists": nested_html,
    "quoted reply chain": thread_html,
    "link digest": links_html,
}

"""Build raw mails as SES stores them: SES's header block on top, then the sender's headers."""

from __future__ import annotations


def ses_block(
    *,
    envelope_from: str = "alice@example.com",
    recipient: str | None = "7@issues.example.com",
    spf: str = "pass",
    dkim: str = "pass",
    dkim_domain: str = "example.com",
    dmarc: str = "pass",
    from_domain: str = "example.com",
    spam: str = "PASS",
    virus: str = "PASS",
) -> str:
    envelope_domain = envelope_from.rsplit("@", 1)[-1]
    # Received-SPF holds what the spf= result of Authentication-Results does, as SES writes it.
    spf_text = (
        f"{spf} (spfCheck: domain of {envelope_domain} designates 192.0.2.1 as permitted "
        f"sender) client-ip=192.0.2.1; envelope-from={envelope_from}; helo=mx.{envelope_domain};"
    )
    dkim_text = f"dkim={dkim} header.i=@{dkim_domain};" if dkim != "none" else "dkim=none;"
    for_clause = f"\r\n for {recipient};" if recipient else ";"
    return (
        f"Return-Path: <{envelope_from}>\r\n"
        f"Received: from mx.{envelope_domain} (mx.{envelope_domain} [192.0.2.1])\r\n"
        f" by inbound-smtp.eu-west-1.amazonaws.com with SMTP id abc123{for_clause}\r\n"
        " Mon, 23 Nov 2026 09:14:03 +0000 (UTC)\r\n"
        f"X-SES-Spam-Verdict: {spam}\r\n"
        f"X-SES-Virus-Verdict: {virus}\r\n"
        f"Received-SPF: {spf_text}\r\n"
        f"Authentication-Results: amazonses.com;\r\n spf={spf_text}\r\n {dkim_text}\r\n"
        f" dmarc={dmarc} header.from={from_domain};\r\n"
        "X-SES-RECEIPT: AEFBQUFBQUFBQUFHcjJ0eW1o\r\n"
        "X-SES-DKIM-SIGNATURE: a=rsa-sha256; q=dns/txt; b=c2ln; c=relaxed/simple; s=x; "
        "d=amazonses.com; t=1795424043; v=1; bh=Ym9k; h=From:To:Subject;\r\n"
    )


def ses_mail(
    body: str = "The build fails on ARM.\r\n",
    *,
    from_: str = "Alice <alice@example.com>",
    to: str | None = None,
    cc: str | None = None,
    subject: str = "Build failure",
    extra: str = "",
    **block: str | None,
) -> bytes:
    """A mail SES stored; ``to`` defaults to the recipient SES received it for, as sent."""
    if to is None:
        to = block.get("recipient", "7@issues.example.com") or "7@issues.example.com"
    headers = (
        f"From: {from_}\r\nTo: {to}\r\n"
        + (f"Cc: {cc}\r\n" if cc else "")
        + f"Subject: {subject}\r\nMessage-ID: <m1@example.com>\r\n"
        + "Date: Mon, 23 Nov 2026 09:13:51 +0000\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n"
        + extra
    )
    return (ses_block(**block) + headers + "\r\n" + body).encode()  # type: ignore[arg-type]

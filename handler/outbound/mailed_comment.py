"""What a participant is mailed of a comment posted from a mail: the comment as GitHub shows it,
without the attribution paragraph and the footer our renderer wrapped it in
(handler.inbound.render), which would name the sender (an address, on a route that shows them)
and the address the mail went to. The update mail says who wrote it in its own opening."""

from __future__ import annotations

import re

# handler.inbound.render's first paragraph: a name and a subject, each escaped to one line
# (escape_inline), so neither holds an unescaped "*" nor a line break.
_ATTRIBUTION = re.compile(
    r"\*\*(?:[^*\\\n]|\\.)*\*\* wrote by email:(?: \*\*(?:[^*\\\n]|\\.)*\*\*)?"
)
# Its last paragraph, then the marker on the next line (handler.github.posts.marker).
_FOOTER = re.compile(
    r"<sub>Sent by email to [^\n]* · posted by ticket-router</sub>"
    r"(?:\n<!-- ticket-router:mail=[0-9a-f]{32} -->)?"
)


def mailed_text(body: str) -> str:
    """``body`` (a posted comment's Markdown) without its first paragraph when that is our
    attribution and its last when that is our footer and marker; the rest as it is, line ends
    normalised. A comment edited on GitHub keeps whatever no longer looks like either."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    rest, _, last = text.rpartition("\n\n")
    if _FOOTER.fullmatch(last.rstrip()):
        text = rest
    first, _, rest = text.partition("\n\n")
    if _ATTRIBUTION.fullmatch(first.rstrip()):
        text = rest
    return text.strip("\n")

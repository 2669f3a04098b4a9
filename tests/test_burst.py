"""5,000 mails at once through the mail queue, two containers, GitHub's 80 POSTs a minute
(tests.burst: simulated time, moto's DynamoDB, the loopback GitHub).

Every mail must be posted exactly once, none may reach the dead-letter queue, and no POST may
fall inside a retry-after window GitHub gave either container.
"""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from tests.burst import Burst, run

MAILS = 5000
# Two retry-after windows of GitHub's own in the middle of the burst (at its 1,000th and
# 3,000th POST), besides its per-minute limit.
HOLDS = ((1000, 60), (3000, 90))


def test_a_burst_of_5000_mails_is_posted_once_each_within_the_limit(
    dynamodb, httpserver: HTTPServer
):
    outcome = run(Burst(MAILS, holds=HOLDS), dynamodb=dynamodb, server=httpserver)
    assert (outcome.posted_once, outcome.duplicated, outcome.missing) == (MAILS, [], [])
    assert outcome.dead_letters == 0
    # GitHub's two windows, and nothing inside them from either container.
    assert [round(end - start) for start, end in outcome.windows] == [60, 90]
    assert outcome.posts_in_windows == []
    # The shared limit kept both containers under GitHub's: it never had to refuse a POST.
    assert outcome.refused_by_limit == 0
    assert outcome.busiest_minute == 80
    # One POST per mail, and one more for each the windows refused.
    assert len(outcome.posts) == MAILS + len(HOLDS)
    # Mail waited in the queue, not in Lambda's retries: what went back did so because another
    # container held its claim (the second copy of a mail delivered twice), never for the limit.
    assert set(outcome.retried) <= {"in-progress"}

"""Routes that claim the same addresses: one domain and prefix twice, prefixes that read one
address as two issues, new-issue addresses that are another route's. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from handler.routing.model import issue_number, quoted, route_label


@dataclass(frozen=True)
class Address:
    """Where a route receives mail, kept even for routes with other errors."""

    index: int
    domain: str
    prefix: str
    # The local part that opens issues (prefix included), when the route has a valid one.
    opening: str | None = None

    @property
    def label(self) -> str:
        return route_label(self.index, self.domain, self.prefix)


def conflicts(addresses: list[Address]) -> list[tuple[int, str]]:
    """Routes that claim the same addresses, each reported on the later route of a pair, with
    its index.

    Prefixes ``P`` and ``P + X`` on one domain clash exactly when ``X`` could begin an issue
    number (all digits, not starting with 0): with ``v`` and ``v1``, is ``v12`` issue 2 of one or
    issue 12 of the other? ``web-`` beside ``""``, or ``x0`` beside ``x``, is fine. So a prefix
    clashes only with the prefixes its own trailing digits extend: looking those up keeps this
    linear in the number of routes.
    """
    at: dict[tuple[str, str], list[int]] = {}
    for position, route in enumerate(addresses):
        at.setdefault((route.domain, route.prefix), []).append(position)
    pairs: list[tuple[int, int, bool]] = []  # (later, earlier, same prefix)
    for positions in at.values():
        # A third copy of a route is reported against the first, as the second is.
        pairs += [(later, positions[0], True) for later in positions[1:]]
    for position, route in enumerate(addresses):
        digits = len(route.prefix) - len(route.prefix.rstrip("0123456789"))
        for cut in range(len(route.prefix) - digits, len(route.prefix)):
            if route.prefix[cut] == "0":
                continue
            for other in at.get((route.domain, route.prefix[:cut]), ()):
                pairs.append((max(position, other), min(position, other), False))
    problems = _opening_conflicts(addresses, at)
    for later, earlier, same in sorted(set(pairs)):
        route, first = addresses[later], addresses[earlier]
        if same:
            problems.append(
                (
                    route.index,
                    f"{route.label}: same domain and prefix as {first.label}; "
                    "merge them or give one a different prefix",
                )
            )
            continue
        shorter, longer = sorted((first, route), key=lambda r: len(r.prefix))
        rest = longer.prefix[len(shorter.prefix) :]
        example = f"{longer.prefix}2@{route.domain}"
        problems.append(
            (
                route.index,
                f"{route.label}: prefixes {quoted(shorter.prefix)} and "
                f"{quoted(longer.prefix)} on one domain make addresses ambiguous with "
                f"{first.label}: {example} could be issue 2 of route {longer.index + 1} "
                f"or issue {rest}2 of route {shorter.index + 1}",
            )
        )
    return problems


def _opening_conflicts(
    addresses: list[Address], at: dict[tuple[str, str], list[int]]
) -> list[tuple[int, str]]:
    """New-issue addresses that another route's new-issue or issue address also reads."""
    problems: list[tuple[int, str]] = []
    opened: dict[tuple[str, str], Address] = {}
    for route in addresses:
        if route.opening is None:
            continue
        address = f"{route.opening}@{route.domain}"
        first = opened.setdefault((route.domain, route.opening), route)
        if first is not route:
            problems.append(
                (route.index, f"{route.label}: new-issue address {address} is also {first.label}'s")
            )
        for cut in range(len(route.opening)):
            number = issue_number(route.opening[cut:])
            if number is None:
                continue
            for other in at.get((route.domain, route.opening[:cut]), ()):
                owner = addresses[other]
                problems.append(
                    (
                        route.index,
                        f"{route.label}: new-issue address {address} is also the address of "
                        f"issue {number} of {owner.label}; choose a word that does not end "
                        "in digits",
                    )
                )
    return problems

"""The raters of a run: which services, and one rater per service with its deck and plan."""

from __future__ import annotations

from collections.abc import Callable

from voipbill.config import Config, Service
from voipbill.decks import Deck, check_command, load_deck
from voipbill.errors import ConfigError, UsageError
from voipbill.numbers import Normaliser, NumberPlan
from voipbill.rating import ServiceRater

# ServiceRater, or explain's tracing rater: (service, package, deck, normaliser, export_domain=)
RaterFactory = Callable[..., ServiceRater]


def build_raters(
    config: Config, services: list[Service], *, make: RaterFactory = ServiceRater
) -> list[ServiceRater]:
    """One rater per service, loading each deck and each package's number plan once."""
    decks: dict[str, Deck] = {}
    normalisers: dict[str, Normaliser] = {}
    raters = []
    for service in services:
        package = config.package_of(service)
        deck = None
        if package.deck is not None:
            if package.deck not in decks:
                deck_config = config.decks[package.deck]
                decks[package.deck] = load_deck(
                    deck_config.path,
                    layout=deck_config.layout,
                    timezone=config.timezone,
                    check_command=check_command(config.path, package.deck),
                )
            deck = decks[package.deck]
        if package.name not in normalisers:
            normalisers[package.name] = Normaliser(NumberPlan.from_package(package))
        rater = make(
            service,
            package,
            deck,
            normalisers[package.name],
            export_domain=config.export_domain(service),
        )
        rater.timezone = config.timezone  # free minutes: calendar months in this zone (rules §6)
        raters.append(rater)
    return raters


def select_services(config: Config, names: list[str] | None, all_services: bool) -> list[Service]:
    """`--service` in command-line order, or `--all` in config order (rules §7 row order)."""
    if all_services and names:
        raise UsageError("give --service or --all, not both")
    if all_services:
        if not config.services:
            raise ConfigError(f"{config.path} has no [services.X] tables")
        return list(config.services.values())
    if not names:
        # rules §7 shows both as optional: naming none rates every service, like --all
        return select_services(config, None, True)
    unique = list(dict.fromkeys(names))
    return [config.service(name) for name in unique]


def deck_warnings(config: Config, raters: list[ServiceRater]) -> list[str]:
    """A header cell that looks like a misspelt price column is read by no column: its values
    are not used (a `conect_fee` column bills every connect fee as 0), so every run says so."""
    warnings = []
    seen: set[int] = set()
    for rater in raters:
        deck = rater.deck
        if deck is None or id(deck) in seen or not deck.report.near_misses:
            continue
        seen.add(id(deck))
        name = rater.package.deck
        cells = ", ".join(
            f"{cell!r} (did you mean {column}?)" for cell, column in deck.report.near_misses
        )
        warnings.append(
            f"deck {name!r}: header cell {cells} is read by no column, so its values are not "
            f"used; rename it or map it in [decks.{name}.columns] "
            f"(`{check_command(config.path, name or '')}` shows the column map)"
        )
    return warnings

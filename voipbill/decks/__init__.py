"""Rate decks (rules §3): reading a carrier's CSV and finding the row for a number.

`layout` says which cells are which columns (presets, header names, options), `reader` reads
and checks the rows, `model` holds the loaded deck and its prefix index.
"""

from voipbill.decks.layout import CANONICAL, PRESETS, REQUIRED, DeckLayout, header_key
from voipbill.decks.model import Deck, DeckError, DeckRow, LoadReport
from voipbill.decks.reader import check_command, load_deck

__all__ = [
    "CANONICAL",
    "PRESETS",
    "REQUIRED",
    "Deck",
    "DeckError",
    "DeckLayout",
    "DeckRow",
    "LoadReport",
    "check_command",
    "header_key",
    "load_deck",
]

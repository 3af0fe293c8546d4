"""voipbill: rate FusionPBX call detail records against carrier rate decks."""

__version__ = "0.1.0"

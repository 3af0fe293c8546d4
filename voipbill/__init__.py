"""voipbill: rate FusionPBX call detail records against carrier rate decks."""

__version__ = "0.1.0"

import logging

# A library logs, the application decides where (`--log-file`); never the stderr last resort.
logging.getLogger("voipbill").addHandler(logging.NullHandler())

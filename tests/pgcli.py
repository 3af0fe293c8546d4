"""`python -m tests.pgcli CONNINFO ARGS…`: voipbill's CLI on a PostgreSQL ledger, in a child
process (see `tests.ledgerbackends.wire`)."""

import sys

from tests.ledgerbackends import wire
from voipbill.cli import main
from voipbill.config import PostgresSettings

wire(PostgresSettings(sys.argv[1]))
main(sys.argv[2:])

"""The PostgreSQL ledger, for several hosts (the store, the connection and locks, the
migrations). psycopg is imported only when a config names `[ledger] postgresql`."""

from voipbill.ledger.postgres.store import PostgresLedger

__all__ = ["PostgresLedger"]

"""Usage onto the operator's invoices: WHMCS billable items and Lago events (rules §11).

- `lines`: the invoice lines of a committed run (pure);
- `whmcs`, `lago`: the HTTP clients;
- `journal`: never twice, written against a small storage protocol.

This package imports nothing at its top level, so `voipbill.config` can use
`invoicing.template` without an import cycle.
"""

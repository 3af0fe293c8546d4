"""Usage onto the operator's invoices: WHMCS billable items and Lago events (rules §11).

- `lines`: the invoice lines of a committed run (pure);
- `whmcs`, `lago`: the HTTP clients;
- `journal`: never twice, written against a small storage protocol.

The description template of a line is the config's (`voipbill.config.description`): the
config checks it when it is read, and the config sits below invoicing.
"""

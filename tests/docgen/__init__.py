"""Test documents made in code: orders, receipts, e-mails, PEC envelopes, hostile files."""

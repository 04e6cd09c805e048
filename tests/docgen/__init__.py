"""Test documents made in code, as bytes in memory: no binary fixtures in the repository.

orders: the portal's export (CSV, JSON Lines) with valid codici fiscali.
receipts: bank and postal receipts as one-page PDFs in several banks' layouts.
messages: customers' e-mails, PEC transport envelopes and PEC service receipts.
hostile: files and names that must be quarantined, never crash a batch.
"""

"""The pure core: the rules with no I/O (order states, matching, the paperwork verdict, the
business calendar, replies, money, the mailbox term, the report's figures, the export's
checks). Nothing here reaches a database, the store, the mail edges or the network
(tests/test_layers.py)."""

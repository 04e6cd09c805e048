"""Where messages come from: the IMAP mailbox and the drop folder (pipeline.sources' types)."""

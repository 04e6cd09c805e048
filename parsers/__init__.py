"""Untrusted input: every function here expects hostile bytes and answers with facts or a reason."""

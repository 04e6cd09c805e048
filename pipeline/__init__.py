"""The domain: the transactional steps (ingest, process, payments, paperwork, fulfilment, the
outbox, batches...) in the caller's unit of work; the pure rules in `rules/`, the use cases in
`services/`, persistence in `store/`. It never imports `mailer/`: the mail edges are handed in
(`rendering.py`, `sources.py`)."""

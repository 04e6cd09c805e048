"""The entry points: the command line and the scheduler parse, call one use case of
pipeline.services and print; `edges.py` hands mailer/'s edges to the use cases."""

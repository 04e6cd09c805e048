"""Mail at the edges, implementing what the pipeline is handed: `inbound/` (where messages come
from) and `outbound/` (what is written and sent)."""

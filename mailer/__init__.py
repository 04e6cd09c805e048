"""Mail at the edges: the drop-folder source, templates, and SMTP sending."""

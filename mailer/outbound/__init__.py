"""What goes out: Jinja2 templates and rendering, the contract PDF, `MailWriter` (the renderer
the pipeline is handed) and SMTP sending of the outbox."""

"""The domain: orders, payments, documents, states, matching, batches."""

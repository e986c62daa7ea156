"""Ingestion of source exports into the raw schema."""

"""Retrieval for the tutor: hybrid BM25 + dense search over a folder of markdown notes."""

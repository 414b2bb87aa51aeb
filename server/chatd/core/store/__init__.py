"""Saved conversations: the snapshot model, the file store, its encryption and index."""

"""A small client for the chatd daemon: connect to its socket or spawn it over stdio."""

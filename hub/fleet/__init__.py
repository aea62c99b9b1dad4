"""Fleet adapters: firmware signing and storage."""

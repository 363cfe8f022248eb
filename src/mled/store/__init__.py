"""Storage layer: SQL metadata store. Only the service layer calls into this package."""

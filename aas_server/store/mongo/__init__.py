"""The MongoDB store (production: MongoDB 6+; tests: FerretDB 1.24); see ``store`` for the design."""

from .store import MongoStore

__all__ = ["MongoStore"]

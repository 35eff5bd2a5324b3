"""b1-backflush: posts SAP Business One Receipts from Production exactly once."""

__version__ = "0.1.0"

"""One evaluator: batched, masked, on-device full ranking with per-user metric values."""

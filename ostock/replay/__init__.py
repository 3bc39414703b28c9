"""Rebuilding read models from the event log: a new generation, switched to atomically
(ostock.replay.rebuild), compared with the live one (verify), or frozen at a moment
(snapshots)."""

"""Run records, the result store, provenance and leaderboard rendering."""

"""Charts, scorecards, databoards, goals, alerts and offline HTML (no widgets here)."""

"""The MetricBuilder's state without any UI: each step's choices and wording."""

"""Plain values: metric specs, date ranges, the endpoint catalogue, records, Twilio date text."""

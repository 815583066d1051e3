"""fetch_metric: windows, cache, fetch, evaluate, one MetricResult."""

"""From rows to numbers: typed frames, intervals, totals, comparisons, combined metrics."""

"""Reading sweep results: aggregation, the papers' figures, reports and navigation studies."""

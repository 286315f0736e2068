"""gin audit package (built by its own issue)."""

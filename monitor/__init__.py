"""gin monitor package (built by its own issue)."""

"""gin directory."""

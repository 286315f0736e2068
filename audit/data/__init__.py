"""Framework data files (a package so the YAML ships in wheels)."""

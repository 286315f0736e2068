"""The ``juniper_junos`` platform: its ``platform.yaml`` and templates (a package, so the
``gin.platforms`` entry point can name this folder)."""

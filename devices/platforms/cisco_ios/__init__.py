"""The ``cisco_ios`` platform: its ``platform.yaml`` and templates (a package, so the
``gin.platforms`` entry point can name this folder)."""

"""GIN link provisioning: plan -> render -> push -> verify -> record (or roll back)."""

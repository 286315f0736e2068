"""The API's routes, one module per resource; each route declares its permission."""

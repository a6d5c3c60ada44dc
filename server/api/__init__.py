"""HTTP blueprints. Each route parses with a schema, makes one application call and dumps the result."""

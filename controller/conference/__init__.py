"""Conference semantics: planning a join (pure) and room state."""

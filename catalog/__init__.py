"""The domain and application: the Image aggregate, events, commands, projections."""

"""The staff desk: an HTTP API (Sanic) where agents and supervisors work tickets."""

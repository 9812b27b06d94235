"""Live updates: notices after commit, the broker supervisor, shared feeds and the GraphQL subscriptions."""
from app.realtime import ordering as _ordering  # noqa: F401 - registers the event-writer serialization on import

"""The dispatcher console: static files served at /console, talking only to the public GraphQL API."""

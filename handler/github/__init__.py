"""GitHub's REST API: the client, its errors and retries, and the credentials a route posts
with."""

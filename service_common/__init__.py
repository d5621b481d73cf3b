"""HTTP scaffolding shared by the project's Sanic services (the desk; the shop may adopt it).

- `errors`:   ApiError and the JSON error handler ({"error": {code, message}}).
- `app`:      the app factory (JSON dumps without ASCII escapes, body limit, request log
              with masking, /health, /openapi.yaml).
- `masking`:  phone masking for log lines.
- `db`:       engine / session factory / per-request session.
- `settings`: typed reads of environment variables.

It depends on Sanic and SQLAlchemy only: never on a product or the demo shop.
"""

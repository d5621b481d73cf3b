"""HTTP scaffolding shared by the project's Sanic services (the desk; the shop may adopt it).

- `errors`:   ApiError and the JSON error handler ({"error": {code, message}}).
- `app`:      the app factory (JSON dumps without ASCII escapes, body limit, request log
              with masking, /health, /openapi.yaml).
- `masking`:  phone masking for log lines.
- `db`:       engine / session factory / per-request session.
- `settings`: typed reads of environment variables.
- `http`:     the HTTP client base of every service-to-service call (aiohttp, one tenacity
              retry policy, idempotency keys, the caller's error types).
- `idempotency`: the `Idempotency-Key` header on a service's POSTs (a key table, replays).
- `credit_code`: the 统一社会信用代码 check (no dependencies; the action server imports it).
- `migrations`: Alembic run from code for a product database (the ledger, analytics).

It depends on Sanic, SQLAlchemy, Alembic, aiohttp and tenacity only (credit_code on nothing):
never on a product or the demo shop.
"""

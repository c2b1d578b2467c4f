"""The API's OpenAPI 3.1 description, served at `/openapi.json`: built from the router, each
route's operation described in `operations.py`, the schemas in `components.py`."""

OPENAPI_PATH = "/openapi.json"

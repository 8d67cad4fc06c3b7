"""The HTTP surface: views, the guards in front of them, schemas, errors as JSON, the OpenAPI spec, the fast checks."""

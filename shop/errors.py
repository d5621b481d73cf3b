"""API error type and the JSON error handler (every error is {"error": {code, message}}):
the services' shared ones (service_common.errors), under the names the shop's modules use."""

from service_common.errors import (
    SANIC_ERRORS,
    ApiError,
    JsonErrorHandler,
    conflict,
    error_response,
    not_found,
    unprocessable,
)

__all__ = ["SANIC_ERRORS", "ApiError", "JsonErrorHandler", "conflict", "error_response",
           "not_found", "unprocessable"]

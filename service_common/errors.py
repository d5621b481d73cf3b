"""API error type and the JSON error handler (every error is {"error": {code, message}})."""

from __future__ import annotations

import logging
from typing import Any

from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from sanic.request import Request
from sanic.response import HTTPResponse, json

logger = logging.getLogger("service_common.errors")


class ApiError(Exception):
    """A domain or validation error that maps directly to an HTTP response.

    ``extra``: more members of the error object, e.g. the existing record on a 409, so the
    client can answer without a second request.
    """

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def not_found(code: str, message: str) -> ApiError:
    return ApiError(404, code, message)


def conflict(code: str, message: str, **extra: Any) -> ApiError:
    return ApiError(409, code, message, **extra)


def unprocessable(code: str, message: str) -> ApiError:
    return ApiError(422, code, message)


def error_response(status: int, code: str, message: str, **extra: Any) -> HTTPResponse:
    return json({"error": {"code": code, "message": message, **extra}}, status=status)


# Framework-level errors (routing, body size, ...) get stable codes and Chinese texts.
SANIC_ERRORS = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "未授权的请求"),
    403: ("forbidden", "没有权限访问该资源"),
    404: ("not_found", "请求的接口不存在"),
    405: ("method_not_allowed", "该接口不支持此请求方法"),
    408: ("request_timeout", "请求超时，请重试"),
    413: ("payload_too_large", "请求体过大"),
    416: ("range_not_satisfiable", "请求范围无效"),
    503: ("service_unavailable", "服务暂不可用，请稍后重试"),
}


class JsonErrorHandler(ErrorHandler):
    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, ApiError):
            return error_response(exception.status, exception.code, exception.message,
                                  **exception.extra)
        if isinstance(exception, SanicException) and 400 <= exception.status_code < 500:
            code, message = SANIC_ERRORS.get(
                exception.status_code, ("bad_request", "请求无法处理")
            )
            response = error_response(exception.status_code, code, message)
            # 405 names the methods the path does support (RFC 9110 `Allow`).
            allow = (getattr(exception, "headers", None) or {}).get("Allow")
            if allow:
                response.headers["Allow"] = allow
            return response
        # Truly unexpected: log the traceback server-side, never leak it to clients.
        path = getattr(request, "path", "?") if request is not None else "?"
        logger.error("unhandled error on %s", path, exc_info=exception)
        return error_response(500, "internal_error", "服务器内部错误，请稍后重试")

import json

import pytest

from auterity_desktop.core.errors import ErrorCode, ServiceError


def test_service_error_carries_code_message_details_and_http_status() -> None:
    error = ServiceError("WORKFLOW_ERROR", "Failed to execute workflow", {"step": "validation"})
    assert error.code is ErrorCode.WORKFLOW_ERROR
    assert error.message == "Failed to execute workflow"
    assert error.details == {"step": "validation"}
    assert error.http_status == 422
    assert error.to_dict() == {
        "code": "WORKFLOW_ERROR",
        "message": "Failed to execute workflow",
        "details": {"step": "validation"},
    }
    assert "WORKFLOW_ERROR" in str(error)


def test_details_default_to_empty_and_are_copied() -> None:
    details = {"a": 1}
    error = ServiceError(ErrorCode.NOT_FOUND, "missing", details)
    details["a"] = 2
    assert error.details == {"a": 1}
    assert ServiceError(ErrorCode.NOT_FOUND, "missing").details == {}


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown error code"):
        ServiceError("NO_SUCH_CODE", "x")


def test_catalogue_is_stable_and_complete() -> None:
    for code in ErrorCode:
        assert code.value == code.name
        assert 400 <= code.http_status <= 599
        assert code.description.endswith(".")
    assert ErrorCode.UNAUTHENTICATED.http_status == 401
    assert ErrorCode.UNAUTHORIZED.http_status == 403
    assert ErrorCode.NOT_FOUND.http_status == 404
    assert ErrorCode.RATE_LIMITED.http_status == 429
    assert ErrorCode.INTERNAL_ERROR.http_status == 500
    assert ErrorCode.POOL_EXHAUSTED.http_status == 503


def test_error_body_is_json_serialisable() -> None:
    body = ServiceError(ErrorCode.INVALID_INPUT, "bad", {"field": "x", "n": [1, 2]}).to_dict()
    assert json.loads(json.dumps(body)) == body

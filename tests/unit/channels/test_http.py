"""The shared mapping of platform HTTP answers onto the connector errors (channels/http.py)."""

import socket
from decimal import Decimal

import httpx
import pytest

from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, TransientError
from zhongshu.channels.http import json_answer, numeric_code, platform_error, transport_errors


def answer(status: int, body: bytes = b'{"ok": 1}') -> httpx.Response:
    return httpx.Response(status, content=body)


# --- transport_errors --------------------------------------------------------------------------


def test_a_read_timeout_is_transient():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts the connection, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(TransientError) as exc, transport_errors("demo x.get"):
            httpx.get(url, timeout=0.2)
    assert str(exc.value) == "demo x.get: timed out" and exc.value.code == ""
    assert isinstance(exc.value.__cause__, httpx.ReadTimeout)


def test_a_refused_connection_is_transient_and_named():
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with pytest.raises(TransientError) as exc, transport_errors("demo x.get"):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2.0)
    assert str(exc.value) == "demo x.get: ConnectError"
    assert isinstance(exc.value.__cause__, httpx.ConnectError)


def test_other_errors_and_answers_pass_through_untouched():
    with pytest.raises(KeyError), transport_errors("demo"):
        raise KeyError("not a transport failure")
    with transport_errors("demo"):
        response = answer(503)  # an answer, even a failing one, is for json_answer to judge
    assert response.status_code == 503


# --- json_answer -------------------------------------------------------------------------------


def test_429_is_rate_limited_whatever_the_body():
    with pytest.raises(RateLimited) as exc:
        json_answer("demo x.get", answer(429, b'{"code": 10000}'), only_200=False)
    assert (str(exc.value), exc.value.code, exc.value.retry_after) == ("demo x.get: HTTP 429", "429", 1.0)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("only_200", [True, False])
def test_5xx_is_transient_with_the_status_as_code(status, only_200):
    with pytest.raises(TransientError) as exc:
        json_answer("demo", answer(status, b"<html>Bad Gateway</html>"), only_200=only_200)
    assert (str(exc.value), exc.value.code) == (f"demo: HTTP {status}", str(status))


@pytest.mark.parametrize("status", [201, 302, 400, 401, 403, 404])
def test_any_other_status_but_200_is_a_plain_connector_error_before_the_body_is_read(status):
    with pytest.raises(ConnectorError) as exc:
        json_answer("demo", answer(status, b"not json"))
    assert type(exc.value) is ConnectorError  # not retried, not an auth failure
    assert (str(exc.value), exc.value.code) == (f"demo: HTTP {status}", str(status))


def test_without_only_200_the_body_of_another_status_goes_back_to_the_caller():
    assert json_answer("demo", answer(403, b'{"error_response": {"code": 19}}'), only_200=False) == {
        "error_response": {"code": 19}
    }


@pytest.mark.parametrize("body", [b'{"data": {"orders": [', b"", b"<html>ok</html>", b"\xff\xfe{"])
@pytest.mark.parametrize(("status", "only_200"), [(200, True), (200, False), (404, False)])
def test_an_unreadable_body_is_transient(body, status, only_200):
    with pytest.raises(TransientError) as exc:
        json_answer("demo", answer(status, body), only_200=only_200)
    assert (str(exc.value), exc.value.code) == (f"demo: malformed JSON answer (HTTP {status})", "")
    assert isinstance(exc.value.__cause__, ValueError)


def test_a_readable_body_is_returned_as_decoded_whatever_its_shape():
    assert json_answer("demo", answer(200, b'{"data": {"n": 1.10}}')) == {"data": {"n": 1.1}}
    assert json_answer("demo", answer(200, b"[1, 2]")) == [1, 2]  # the envelope is the caller's


def test_parse_float_keeps_money_exact():
    data = json_answer("demo", answer(200, b'{"price": 0.10, "total": 19.90}'), parse_float=Decimal)
    assert data == {"price": Decimal("0.10"), "total": Decimal("19.90")}
    assert str(data["total"]) == "19.90"


# --- platform_error and numeric_code -----------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "kind"),
    [
        ({}, ConnectorError),
        ({"auth": True}, AuthError),
        ({"transient": True}, TransientError),
        ({"throttled": True}, RateLimited),
        ({"transient": True, "auth": True}, TransientError),  # order: throttled, transient, auth
        ({"throttled": True, "transient": True, "auth": True}, RateLimited),
    ],
)
def test_platform_error_picks_the_class_by_the_first_true_flag(flags, kind):
    error = platform_error("demo x.get: 70031 too often", "70031", **flags)
    assert type(error) is kind
    assert (str(error), error.code) == ("demo x.get: 70031 too often", "70031")


def test_a_throttled_refusal_is_retried_after_one_second():
    assert platform_error("t", "7", throttled=True).retry_after == 1.0


@pytest.mark.parametrize(
    ("value", "code"),
    [(100200102, 100200102), ("703", 703), (None, 0), ("", 0), ("isv.bad", 0), ({"code": 1}, 0)],
)
def test_numeric_code_is_zero_when_missing_or_not_a_number(value, code):
    assert numeric_code(value) == code


def test_douyin_error_with_a_non_numeric_code_is_a_connector_error_not_a_crash():
    from zhongshu.channels.douyin.client import error_for

    err = error_for("order.searchList", {"code": "oops", "msg": "系统错误", "sub_code": ""})
    assert type(err) is ConnectorError and err.code == "0"
    throttled = error_for("order.searchList", {"code": "60000", "msg": "限流"})
    assert isinstance(throttled, RateLimited)


def test_pdd_error_without_a_code_has_an_empty_code_not_none():
    from zhongshu.channels.pdd.client import _error

    assert _error("pdd.order.list.get", {"error_msg": "请求过于频繁"}, token_call=False).code == ""
    assert _error("pop.auth.token.refresh", {"error_msg": "refresh_token 已过期"}, token_call=True).code == ""
    assert isinstance(_error("pop.auth.token.refresh", {"error_msg": "x"}, token_call=True), AuthError)

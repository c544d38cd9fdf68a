"""The error answers of the HTTP API, declared on each operation so the OpenAPI tells the truth.

Every error is JSON with a `detail`: a sentence, or for 413 and 422 the list of fields at fault.

| status | when |
|---|---|
| 400 | the body is not JSON |
| 401 | no valid bearer token (push: the platform's signature is missing, wrong or stale) |
| 403 | the token's user or scope lacks the permission the call needs (named in `detail`) |
| 404 | the order, SKU, warehouse, rule or shop in the path does not exist |
| 409 | a push message already accepted (replay) |
| 413 | the body is larger than the limit (ZHONGSHU_MAX_BODY_BYTES): `detail` as for 422, and `limit_bytes` |
| 422 | a field is invalid: `detail: [{loc, field, msg}]`, nothing written |
| 503 | server busy (core/overload.py): the request waited too long for a thread, or its time budget ran out waiting for the database; nothing written; `Retry-After` and `retry_after_s` say when to send it again |
"""

from ninja import Schema


class Message(Schema):
    detail: str


class FieldError(Schema):
    loc: list[str | int]
    field: str
    msg: str


class FieldErrors(Schema):
    detail: list[FieldError]


class TooLarge(FieldErrors):
    limit_bytes: int


class Busy(Message):
    retry_after_s: int


def errors(*codes: int) -> dict[int, type[Schema]]:
    """The response declarations of these error statuses, to merge into an operation's `response`."""
    return {code: {413: TooLarge, 422: FieldErrors, 503: Busy}.get(code, Message) for code in codes}


def example(body: dict) -> dict:
    """The `openapi_extra` of an operation whose JSON request body has this example."""
    return {"requestBody": {"content": {"application/json": {"example": body}}}}

"""Text types of the HTTP API's paths, queries and bodies: no control characters (PostgreSQL refuses a
NUL byte with an error, which would be a 500), so such a value gets a 422 naming the parameter."""

from typing import Annotated

from pydantic import AfterValidator, Field

from zhongshu.core.text import free_text, single_line

# A code, name or number in a path or a query, or a one-line field: no control characters at all.
Code = Annotated[str, AfterValidator(single_line)]
# Free text (a title, a description): tab and line breaks allowed, other control characters not.
FreeText = Annotated[str, AfterValidator(free_text)]

# A row id in a path or a body: positive and within a 64-bit integer (a larger number would overflow
# the database's integer and answer 500).
Id = Annotated[int, Field(ge=1, le=9_223_372_036_854_775_807)]

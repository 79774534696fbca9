"""JSON shapes of request fields: a field of the wrong type is a 400 naming it, not a crash later.

The translations read a request's fields as their API defines them (`tool_choice.function.name`,
`response_format.json_schema.schema`...). A shape here says what each such field must be, so that
a client's `"stream_options": "x"` is refused at the door in the client's own dialect instead of
failing deep in a translation. Only types are checked; what the values mean stays with the
validators and translations.

A shape is a type or a tuple of types (the value's JSON type), a dict (an object whose listed
keys, where present and not null, have their shapes), a list of one shape (an array whose items
have it), or a tuple mixing types and one dict or list (any of them). Null is always allowed.
"""

from __future__ import annotations

from typing import Any, Union

from llmswitch.errors import GatewayError, invalid

Shape = Union[type, tuple[Any, ...], dict[str, Any], list[Any]]
_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", dict: "an object",
          list: "an array"}


def fits(value: Any, shape: Shape) -> bool:
    """Does VALUE have SHAPE? (No names are built: this is the path every valid request takes.)"""
    if value is None:
        return True
    if type(shape) is type:  # the common case, without building a tuple of options
        return isinstance(value, shape) and (shape is not int or type(value) is not bool)
    for option in shape if isinstance(shape, tuple) else (shape,):
        if isinstance(option, dict):
            if isinstance(value, dict):
                for key, inner in option.items():
                    if not fits(value.get(key), inner):
                        return False
                return True
        elif isinstance(option, list):
            if isinstance(value, list):
                inner = option[0]
                for item in value:
                    if not fits(item, inner):
                        return False
                return True
        elif isinstance(value, option) and (option is not int or type(value) is not bool):
            return True
    return False


def check_shape(value: Any, shape: Shape, param: str) -> None:
    """Raise a 400 naming PARAM (dotted, with indexes) where VALUE does not have SHAPE."""
    if fits(value, shape):
        return
    options = shape if isinstance(shape, tuple) else (shape,)
    for option in options:
        if isinstance(option, dict) and isinstance(value, dict):
            for key, inner in option.items():
                check_shape(value.get(key), inner, f"{param}.{key}")
        if isinstance(option, list) and isinstance(value, list):
            for index, item in enumerate(value):
                check_shape(item, option[0], f"{param}[{index}]")
    raise invalid(f"Invalid type for '{param}': expected {' or '.join(_describe(o) for o in options)}.",
                  param=param, code="invalid_type")


def check_fields(body: dict[str, Any], shapes: dict[str, Shape], prefix: str = "", index: int = 0) -> None:
    """check_shape for each field of BODY that SHAPES names (the others are not looked at). A field
    is named PREFIX + its key, PREFIX formatted with INDEX ("messages[{}].") once one is wrong."""
    for key, value in body.items():
        shape = shapes.get(key)
        # `type(value) is shape`: the usual field (a string, a list...) passes without a call to fits
        if shape is not None and type(value) is not shape and not fits(value, shape):
            check_shape(value, shape, prefix.format(index) + key)


def nested_too_deeply() -> GatewayError:
    """The 400 for a body nested deeper than can be translated or written back out: orjson reads
    1024 levels but writes 255, and the translations' recursion gives out in between. Raised where
    that shows (RecursionError, orjson's encode error), so well-formed bodies pay no depth check."""
    return invalid("The request body is nested too deeply to be forwarded (at most 255 levels).",
                   code="nesting_too_deep")


def _describe(option: Any) -> str:
    if isinstance(option, dict):
        return "an object"
    if isinstance(option, list):
        return "an array"
    return _NAMES.get(option, getattr(option, "__name__", str(option)))

"""How the application's Temporal clients turn payload dataclasses into JSON.

The SDK's JSON converter writes and reads exactly the JSON kept here; what
differs is the cost. Writing, it copies every dataclass deeply
(`dataclasses.asdict`) before encoding it; reading, it resolves each
dataclass's type hints again for every payload. Every task opened or closed
passes a few of these each way, on the worker and the web app alike, so the
field list is resolved once per class and a dataclass is written field by
field. Payloads stay byte for byte what the SDK writes, so either converter
reads the other's, and histories recorded with one replay with the other.
"""

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any

import temporalio.api.common.v1
from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    value_to_type,
)


class _FieldByFieldEncoder(AdvancedJSONEncoder):
    """The SDK's encoder, but a dataclass becomes a shallow dict.

    The encoder visits nested values itself, calling `default` again for
    each dataclass, date or enum it meets, so the result is the same JSON.
    """

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {field.name: getattr(o, field.name) for field in _fields(type(o))}
        return super().default(o)


@cache
def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)


@cache
def _field_hints(cls: type) -> tuple[tuple[str, Any], ...] | None:
    """(name, type hint) of each field; None for a class the SDK should read."""
    fields = _fields(cls)
    if any(not field.init for field in fields):
        return None
    hints = typing.get_type_hints(cls)
    return tuple((field.name, hints[field.name]) for field in fields)


def _to_type(hint: Any, value: Any) -> Any:
    """`value_to_type` with dataclasses, lists and optionals read here."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        fields = _field_hints(hint)
        if fields is None or not isinstance(value, dict):
            return value_to_type(hint, value, [])
        # As the SDK does: unknown keys are ignored and a missing required
        # field fails in the constructor.
        return hint(
            **{
                name: _to_type(field_hint, value[name])
                for name, field_hint in fields
                if name in value
            }
        )
    origin = typing.get_origin(hint)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(hint) or (Any,)
        return [_to_type(item, element) for element in value]
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None and len(members) < len(typing.get_args(hint)):
            return None
        if len(members) == 1:
            return _to_type(members[0], value)
    return value_to_type(hint, value, [])


class AppJSONPayloadConverter(JSONPlainPayloadConverter):
    """'json/plain' payloads, written and read as the SDK does, faster."""

    def __init__(self) -> None:
        super().__init__(encoder=_FieldByFieldEncoder)

    def from_payload(
        self,
        payload: temporalio.api.common.v1.Payload,
        type_hint: type | None = None,
    ) -> Any:
        try:
            value = json.loads(payload.data)
        except json.JSONDecodeError as error:
            raise RuntimeError("Failed parsing") from error
        return _to_type(type_hint, value) if type_hint else value


_SDK_CONVERTERS = DefaultPayloadConverter.default_encoding_payload_converters


class AppPayloadConverter(CompositePayloadConverter):
    """The SDK's default converters, with the JSON one above in its place."""

    def __init__(self) -> None:
        super().__init__(
            *(
                AppJSONPayloadConverter()
                if isinstance(converter, JSONPlainPayloadConverter)
                else converter
                for converter in _SDK_CONVERTERS
            )
        )


DATA_CONVERTER = dataclasses.replace(
    DataConverter.default, payload_converter_class=AppPayloadConverter
)

"""The OpenAPI schema states every answer an endpoint gives, its errors included.

drf-spectacular documents what a view declares; the errors that come from the API's shared
layers are added here, to every operation they can happen to, in the one error shape
(config/api.py): 400 and 415 where a body is read (validation, the JSON limits of
config/jsonbody.py, JSON only), 403 without a trader's credentials, 404 where the path names an
object, and 429 with Retry-After from the throttles. What a view declares itself (a 409, a
502, its own 404 example) is kept.
"""

from drf_spectacular import openapi
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "code": serializers.CharField(
                    help_text="Stable, for programs: invalid, throttled, not_found, "
                    "json_too_deep..."
                ),
                "message": serializers.CharField(help_text="For people: what was wrong"),
                "fields": serializers.DictField(
                    required=False, help_text="Per field (camelCase), when the input was invalid"
                ),
            },
        )
    },
)

RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds until this client may call again",
    }
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._shared_errors():
            if code not in responses:
                responses[code] = self._get_response_for_code(ERROR, code, direction=direction)
                responses[code]["description"] = description
        if "429" in responses:
            responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
        return responses

    def _shared_errors(self) -> list[tuple[str, str]]:
        errors = []
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            errors.append(("400", "The body is invalid, or over the JSON size or depth limit"))
            errors.append(("415", "The body is not JSON (Content-Type: application/json)"))
        if self.view.permission_classes:
            errors.append(("403", "Not signed in, a bad token, or not a trader"))
        if "{" in self.path:
            errors.append(("404", "No such object of yours"))
        errors.append(("429", "Throttled: too many calls; wait Retry-After seconds"))
        return errors

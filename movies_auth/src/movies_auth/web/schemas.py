"""Request and response schemas; they validate input and document the API alike."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from movies_auth.domain import conditions
from movies_auth.domain.link_tokens import TOKEN_LENGTH, TOKEN_PATTERN
from movies_auth.domain.oauth_flow import RANDOM_PATTERN, REDIRECT_URI_MAX_LENGTH
from movies_auth.models import (
    CODE_NAME,
    CODE_NAME_MAX_LENGTH,
    CODE_NAME_RULE,
    DESCRIPTION_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    normalize_email,
)

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
PAGE_SIZE_MAX = 100
SERVICE_SECRET_MAX_LENGTH = 256


class FullMatch(validate.Regexp):
    """A regular expression the whole value must match. Published as the field's `pattern`, so the expression
    anchors itself (`^...$`); matched whole here, so `$` does not let a trailing line break through."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


# No control characters (Unicode category Cc) and no lone surrogates (Cs): what no name, email or password
# should hold. The server checks it and the spec publishes it, from this one expression.
PLAIN_TEXT = FullMatch(
    r"^[^\u0000-\u001f\u007f-\u009f\ud800-\udfff]*$", error="Must not contain control characters or invalid Unicode."
)

# A condition may be a JSON document, and JSON lets tabs and line breaks stand between its tokens.
CONDITION_TEXT = FullMatch(
    r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff]*$",
    error="Must not contain control characters or invalid Unicode.",
)


class Text(fields.String):
    """A string free of control characters and broken Unicode (or matching `pattern`), stripped of surrounding
    spaces."""

    def __init__(
        self,
        *,
        max_length: int,
        min_length: int = 0,
        strip: bool = True,
        pattern: FullMatch = PLAIN_TEXT,
        **kwargs: Any,
    ) -> None:
        super().__init__(validate=[pattern, validate.Length(min=min_length or None, max=max_length)], **kwargs)
        self.strip = strip

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip() if self.strip else text


class Password(Text):
    """A password: 8 to 128 characters, kept exactly as typed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH, strip=False, **kwargs)


class Email(fields.String):
    """An email address, checked for syntax and normalized (NFC, lower-case) so twins compare equal."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=[PLAIN_TEXT, validate.Length(max=EMAIL_MAX_LENGTH)], **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = PLAIN_TEXT(super()._deserialize(value, attr, data, **kwargs))  # before the syntax check's own message
        try:
            address = validate_email(text.strip(), check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(f"Not a valid email address: {error}") from error
        return normalize_email(address.normalized)


class CodeName(Text):
    """A role or permission name: lower-case letters, digits and `_-.:`, starting with a letter."""

    def __init__(self, **kwargs: Any) -> None:
        code_name = FullMatch(CODE_NAME, error=f"Use {CODE_NAME_RULE}.")
        super().__init__(max_length=CODE_NAME_MAX_LENGTH, min_length=1, strip=False, pattern=code_name, **kwargs)


class ConditionText(fields.String):
    """A permission condition: a name, or JSON `{"any": [...]}` / `{"all": [...]}`, nested."""

    def __init__(self, **kwargs: Any) -> None:
        # Published here and checked on the text below: a field's validators would see the parsed condition.
        # The parser refuses an empty condition with a message of its own.
        published = {"pattern": CONDITION_TEXT.regex.pattern, "minLength": 1}
        super().__init__(**kwargs | {"metadata": published | kwargs.get("metadata", {})})

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> conditions.Condition:
        text = CONDITION_TEXT(super()._deserialize(value, attr, data, **kwargs))
        try:
            return conditions.parse_text(text)
        except conditions.ConditionError as error:
            raise ValidationError(str(error)) from error


class ErrorSchema(Schema):
    # Each error status of each operation carries its own example (apidocs.ERROR_EXAMPLES).
    msg = fields.String(required=True, metadata={"description": "What went wrong, for a human"})


class ValidationErrorSchema(ErrorSchema):
    errors = fields.Dict(
        keys=fields.String(), values=fields.Raw(), metadata={"description": "The problems of each invalid field"}
    )


class MessageSchema(Schema):
    msg = fields.String(required=True, metadata={"example": "Token is valid"})


class RegistrationSchema(Schema):
    email = Email(required=True, metadata={"example": "ada@example.com"})
    password = Password(required=True, load_only=True, metadata={"example": "correct horse battery"})
    first_name = Text(max_length=NAME_MAX_LENGTH, allow_none=True, metadata={"example": "Ada"})
    last_name = Text(max_length=NAME_MAX_LENGTH, allow_none=True, metadata={"example": "Lovelace"})


class CredentialsSchema(Schema):
    # No email syntax or password length rules here: any well-formed text is just a wrong login.
    email = Text(required=True, max_length=EMAIL_MAX_LENGTH, metadata={"example": "ada@example.com"})
    password = Text(
        required=True, max_length=PASSWORD_MAX_LENGTH, strip=False, metadata={"example": "correct horse battery"}
    )


class TokenPairSchema(Schema):
    access_token = fields.String(
        required=True, metadata={"example": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIi..."}
    )
    refresh_token = fields.String(
        required=True, metadata={"example": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIi..."}
    )
    token_type = fields.Constant("Bearer", required=True, metadata={"type": "string", "example": "Bearer"})
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds until the access token expires", "example": 900}
    )


class UserSchema(Schema):
    uuid = fields.UUID(attribute="id", dump_only=True)
    email = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email_verified = fields.Boolean(metadata={"description": "Whether the address confirmed a link mailed to it"})


class UserUpdateSchema(Schema):
    # The email changes through POST /users/{user_id}/email: the new address must confirm it.
    first_name = Text(max_length=NAME_MAX_LENGTH, allow_none=True)
    last_name = Text(max_length=NAME_MAX_LENGTH, allow_none=True)


class PasswordChangeSchema(Schema):
    old_password = Text(required=True, load_only=True, max_length=PASSWORD_MAX_LENGTH, strip=False)
    new_password = Password(required=True, load_only=True)


class EmailRequestSchema(Schema):
    email = Email(required=True, metadata={"example": "ada@example.com"})


class LinkTokenSchema(Schema):
    token = Text(
        required=True,
        max_length=TOKEN_LENGTH,
        strip=False,
        pattern=FullMatch(TOKEN_PATTERN, error="Not a token from one of our links."),
        metadata={"description": "The token of the link in the mail (after `#token=`)"},
    )


class PasswordResetSchema(LinkTokenSchema):
    new_password = Password(required=True, load_only=True, metadata={"example": "a brand new passphrase"})


class EmailChangeSchema(Schema):
    new_email = Email(required=True, metadata={"example": "countess@example.com"})
    password = Text(
        load_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        metadata={
            "description": "The account's current password; a holder of `all_all` changing another "
            "account's email may leave it out"
        },
    )


class PageQuerySchema(Schema):
    page_number = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=PAGE_SIZE_MAX))


class LoginAttemptSchema(Schema):
    uuid = fields.UUID(attribute="id")
    time = fields.AwareDateTime()
    ip_address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    success = fields.Boolean()


class LoginHistoryPageSchema(Schema):
    items = fields.List(fields.Nested(LoginAttemptSchema))
    page_number = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class DeviceSchema(Schema):
    kind = fields.String(metadata={"description": "desktop, mobile, tablet, bot or unknown", "example": "mobile"})
    os = fields.String(allow_none=True, metadata={"example": "iOS 17"})
    browser = fields.String(allow_none=True, metadata={"example": "Mobile Safari 17"})


class SessionSchema(Schema):
    session_id = fields.String(metadata={"example": "kq2X0n6cVh3mW1dE9aZr4A"})
    created_at = fields.AwareDateTime(metadata={"description": "When the session signed in"})
    last_used_at = fields.AwareDateTime(metadata={"description": "Its sign-in or last refresh"})
    ip_address = fields.String(allow_none=True, metadata={"description": "Where it signed in from"})
    user_agent = fields.String(allow_none=True)
    device = fields.Nested(DeviceSchema, metadata={"description": "Read from the user agent"})
    method = fields.String(metadata={"description": "`password` or `oauth:<provider>`", "example": "password"})
    current = fields.Boolean(metadata={"description": "Whether this is the caller's own session"})


class IndexSchema(Schema):
    service = fields.String(metadata={"example": "movies_auth"})
    version = fields.String(metadata={"example": "1.0.0"})
    links = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"example": {"swagger_ui": "/auth/apidocs/", "openapi": "/auth/apispec.json"}},
    )


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    checks = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"example": {"database": "ok", "redis": "ok"}}
    )


class PermissionSchema(Schema):
    uuid = fields.UUID(attribute="id", dump_only=True)
    name = CodeName(required=True, metadata={"example": "pro_read"})
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, load_default="", metadata={"example": "Watch every film"})


class PermissionUpdateSchema(Schema):
    name = CodeName(metadata={"example": "pro_read"})
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, metadata={"example": "Watch every film"})


class RoleSchema(Schema):
    uuid = fields.UUID(attribute="id", dump_only=True)
    name = CodeName(required=True, metadata={"example": "subscriber"})
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, load_default="", metadata={"example": "Paying subscribers"})
    permissions = fields.List(fields.Nested(PermissionSchema), dump_only=True)


class RoleUpdateSchema(Schema):
    name = CodeName(metadata={"example": "subscriber"})
    description = Text(max_length=DESCRIPTION_MAX_LENGTH, metadata={"example": "Paying subscribers"})


class GrantSchema(Schema):
    name = CodeName(required=True, metadata={"description": "The role or permission to grant", "example": "pro_read"})


class PermissionCheckQuerySchema(Schema):
    permissions = ConditionText(
        required=True,
        metadata={
            "description": (
                'A permission name, or JSON {"any": [...]} / {"all": [...]} of conditions, nested at most '
                f"{conditions.MAX_DEPTH} levels and naming at most {conditions.MAX_NAMES} permissions"
            ),
            "example": '{"any": ["pro_read", {"all": ["beta", "early_access"]}]}',
        },
    )


class PermissionCheckSchema(Schema):
    valid = fields.Boolean(required=True, metadata={"example": True})


class JwkSchema(Schema):
    """A public key (RFC 7517): RSA keys carry `n` and `e`, EC keys `crv`, `x` and `y`."""

    kty = fields.String(required=True, metadata={"example": "RSA"})
    kid = fields.String(required=True)
    alg = fields.String(required=True, metadata={"example": "RS256"})
    use = fields.String(required=True, metadata={"example": "sig"})
    n = fields.String()
    e = fields.String()
    crv = fields.String()
    x = fields.String()
    y = fields.String()


class JwkSetSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema), required=True)


class ServiceCredentialsSchema(Schema):
    # Like a login: any well-formed text is just a wrong credential.
    service_name = Text(required=True, max_length=CODE_NAME_MAX_LENGTH, metadata={"example": "movies-api"})
    secret = Text(required=True, max_length=SERVICE_SECRET_MAX_LENGTH, strip=False, load_only=True)


class ServiceTokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.Constant("Bearer", required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds until the token expires"})


class ServiceIdentitySchema(Schema):
    uuid = fields.UUID(required=True)
    service_name = fields.String(required=True, metadata={"example": "movies-api"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds until the token expires"})


class ServiceAccountSchema(Schema):
    uuid = fields.UUID(attribute="id", dump_only=True)
    name = CodeName(required=True, metadata={"example": "movies-api"})
    created_at = fields.AwareDateTime(dump_only=True)
    secret_changed_at = fields.AwareDateTime(dump_only=True)


class OAuthProviderSchema(Schema):
    name = fields.String(metadata={"example": "google"})
    login_url = fields.String(metadata={"example": "https://movies.example.com/auth/api/v1/oauth/google/login"})


class OAuthLoginQuerySchema(Schema):
    redirect_uri = fields.Url(
        validate=[PLAIN_TEXT, validate.Length(max=REDIRECT_URI_MAX_LENGTH)],
        require_tld=False,
        schemes={"http", "https"},
        metadata={
            "description": "Where the browser goes back with a one-time code; must be on OAUTH_REDIRECT_ALLOWLIST"
        },
    )
    link = fields.Boolean(
        load_default=False,
        metadata={"description": "Link the identity to the account of the access token sent as Bearer"},
    )


class OAuthCallbackQuerySchema(Schema):
    state = fields.String(required=True, validate=FullMatch(RANDOM_PATTERN, error="Not a state this service issued."))
    code = fields.String(validate=[PLAIN_TEXT, validate.Length(min=1, max=2048)])
    error = fields.String(validate=[PLAIN_TEXT, validate.Length(max=256)])
    error_description = fields.String(validate=[PLAIN_TEXT, validate.Length(max=1024)])
    device_id = fields.String(
        validate=[PLAIN_TEXT, validate.Length(max=256)], metadata={"description": "VK ID sends it with the code"}
    )

    @validates_schema
    def _code_or_error(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "code" not in data and "error" not in data:
            raise ValidationError("Missing data for required field.", "code")


class OAuthCodeSchema(Schema):
    code = fields.String(
        required=True,
        validate=FullMatch(RANDOM_PATTERN, error="Not a code this service issued."),
        metadata={"description": "The one-time code the callback's redirect carried"},
    )


class SocialAccountSchema(Schema):
    provider = fields.String(metadata={"example": "google"})
    email = fields.String(allow_none=True, metadata={"example": "ada@example.com"})
    linked_at = fields.AwareDateTime()

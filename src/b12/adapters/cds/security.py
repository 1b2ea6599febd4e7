"""The CDS Hooks service's JWT checks: every call (discovery included) carries a Bearer token that
a trusted issuer signed.

    Trust.read(path)                      the issuers file: each trusted issuer and its keys
    verify(token, audience, trust, now)   -> Caller, or CdsAuthError (401) saying what is wrong

Accepted: ES384, RS384, ES256 (asymmetric; ``none`` and every HS* refused); ``kid`` in the header,
naming a key of the issuer's JWKS; ``iss`` on the allowlist; ``aud`` exactly the URL called (a
string, or an array holding it); ``exp``, ``iat`` and ``jti`` present; ``exp`` not passed and
``iat`` not ahead, with SKEW either way; a token living at most MAX_LIFETIME. The jti is claimed
by the record (services.decision_support), so a replay is refused by every worker.

The issuers file (JSON; B12_CDS_ISSUERS)::

    {"audience": "https://b12.example.org",
     "issuers": {"https://ehr.example.org": {"jwks": {"keys": [...]}},
                 "https://other.example.org": {"jwks_file": "other-jwks.json"},
                 "https://fetched.example.org": {"jku": "https://fetched.example.org/jwks.json"}}}

``audience`` is b12's public base URL (default: the URL the request reached). A ``jku`` is fetched
(and kept JKU_TTL) only when it is https, or http on 127.0.0.1; a token's ``jku`` header must be
its issuer's configured one.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from b12.errors import InputError
from b12.services.decision_support import Caller

ACCEPTED = ("ES384", "RS384", "ES256")
SKEW = timedelta(seconds=30)
MAX_LIFETIME = timedelta(minutes=5)
JKU_TTL = 300.0  # seconds a fetched JWKS is kept
JKU_RETRY = 30.0  # at most one fetch per jku in this many seconds when a kid is not found


class CdsAuthError(InputError):
    """The call's token is missing, malformed, or not one a trusted issuer signed for this URL."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="authorization")


class CdsConfigError(InputError):
    """The issuers file cannot be read."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(
            f"CDS issuers file {path}: {why}; write JSON as docs/cds-hooks.md shows",
            field="cds_issuers",
        )


def _local_or_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    )


@dataclass
class Issuer:
    name: str
    jwks: dict[str, Any] | None = None
    jku: str | None = None
    _fetched: tuple[float, dict[str, Any]] | None = None
    _tried: float = 0.0
    _keys: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _jwks(self, refresh: bool) -> dict[str, Any]:
        if self.jwks is not None:
            return self.jwks
        assert self.jku is not None
        now = time.monotonic()
        with self._lock:
            stale = self._fetched is None or now - self._fetched[0] > JKU_TTL
            if stale or (refresh and now - self._tried > JKU_RETRY):
                self._tried = now
                self._fetched = (now, _fetch(self.jku))
                self._keys.clear()
            assert self._fetched is not None
            return self._fetched[1]

    def key(self, kid: str, alg: str) -> Any:
        """The public key ``kid`` of this issuer for ``alg`` (CdsAuthError when it has none)."""
        import jwt

        cached = self._keys.get((kid, alg))
        if cached is not None:
            return cached
        for refresh in (False, True):
            for jwk in self._jwks(refresh).get("keys", []):
                if isinstance(jwk, dict) and jwk.get("kid") == kid:
                    try:
                        key = jwt.PyJWK(jwk, algorithm=alg).key
                    except jwt.PyJWTError as error:
                        raise CdsAuthError(
                            f"key {kid!r} of issuer {self.name!r} does not fit alg {alg}: {error}"
                        ) from None
                    self._keys[kid, alg] = key
                    return key
            if self.jwks is not None:
                break
        raise CdsAuthError(f"issuer {self.name!r} has no key {kid[:80]!r} (kid): sign with one "
                           "of its published keys")  # fmt: skip


def _fetch(url: str) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.get(url, timeout=3.0, follow_redirects=False)
        response.raise_for_status()
        value = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise CdsAuthError(f"the issuer's key set at {url} cannot be read: {error}") from None
    if not isinstance(value, dict):
        raise CdsAuthError(f"the issuer's key set at {url} is not a JWKS object")
    return value


@dataclass
class Trust:
    """The issuers trusted and b12's public base URL (None: the URL each request reached)."""

    issuers: dict[str, Issuer]
    audience: str | None = None

    @classmethod
    def read(cls, path: str | None) -> Trust:
        """The issuers file at ``path``; none (no path) trusts nobody: every call is refused."""
        if path is None:
            return cls({})
        file = Path(path).expanduser()
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CdsConfigError(path, f"cannot be read ({error})") from None
        if not isinstance(data, dict) or not isinstance(data.get("issuers"), dict):
            raise CdsConfigError(path, 'it needs an object "issuers"')
        issuers = {}
        for name, entry in data["issuers"].items():
            issuers[name] = _issuer(path, file.parent, name, entry)
        audience = data.get("audience")
        if audience is not None and not isinstance(audience, str):
            raise CdsConfigError(path, '"audience" is the base URL, a string')
        return cls(issuers, audience.rstrip("/") if audience else None)


def _issuer(path: str, folder: Path, name: str, entry: Any) -> Issuer:
    if not isinstance(entry, dict) or len(set(entry) & {"jwks", "jwks_file", "jku"}) != 1:
        raise CdsConfigError(path, f"issuer {name!r} needs one of jwks, jwks_file or jku")
    if "jku" in entry:
        if not isinstance(entry["jku"], str) or not _local_or_https(entry["jku"]):
            raise CdsConfigError(path, f"issuer {name!r}: jku must be an https URL")
        return Issuer(name, jku=entry["jku"])
    jwks = entry.get("jwks")
    if "jwks_file" in entry:
        try:
            jwks = json.loads((folder / entry["jwks_file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as error:
            raise CdsConfigError(path, f"issuer {name!r}: jwks_file ({error})") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise CdsConfigError(path, f'issuer {name!r}: a JWKS is an object with a "keys" list')
    return Issuer(name, jwks=jwks)


def bearer(header: str | None) -> str:
    if not header:
        raise CdsAuthError("no Authorization header: send 'Authorization: Bearer <JWT>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CdsAuthError("the Authorization header must be 'Bearer <JWT>'")
    return token.strip()


def verify(token: str, audience: str, trust: Trust, now: datetime) -> Caller:
    """The caller the token names, once every check holds (CdsAuthError otherwise)."""
    import jwt

    try:
        unsigned = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise CdsAuthError("the bearer token is not a JWT") from None
    header, unverified = unsigned["header"], unsigned["payload"]
    if not isinstance(unverified, dict):
        raise CdsAuthError("the bearer token's claims are not a JSON object")
    alg = header.get("alg")
    if alg not in ACCEPTED:
        raise CdsAuthError(
            f"alg {str(alg)[:20]!r} is refused: sign with {', '.join(ACCEPTED)} (never none or HS*)"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CdsAuthError("the token's header has no kid: name the signing key")
    issuer_name = unverified.get("iss")
    issuer = trust.issuers.get(issuer_name) if isinstance(issuer_name, str) else None
    if issuer is None:
        raise CdsAuthError(f"issuer {str(issuer_name)[:120]!r} is not trusted by this service")
    jku = header.get("jku")
    if jku is not None and jku != issuer.jku:
        raise CdsAuthError(f"jku {str(jku)[:120]!r} is not the key set configured for the issuer")
    key = issuer.key(kid, alg)
    try:
        claims = jwt.decode(
            token, key, algorithms=[alg], audience=audience, issuer=issuer.name,
            options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_exp": False,
                     "verify_iat": False, "verify_nbf": False},
        )  # fmt: skip
    except jwt.InvalidAudienceError:
        raise CdsAuthError(f"aud is not this service's URL: it must be {audience}") from None
    except jwt.MissingRequiredClaimError as error:
        raise CdsAuthError(f"the token has no {error.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise CdsAuthError("the token's signature does not verify with the issuer's key") from None
    except jwt.PyJWTError as error:
        raise CdsAuthError(f"the token is refused: {error}") from None
    return _timely(claims, issuer.name, now)


def _instant(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CdsAuthError(f"the {name} claim must be seconds since 1970 (a number)")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise CdsAuthError(f"the {name} claim is out of range") from None


def _timely(claims: dict[str, Any], issuer: str, now: datetime) -> Caller:
    expires, issued = _instant(claims, "exp"), _instant(claims, "iat")
    if expires + SKEW < now:
        raise CdsAuthError("the token has expired (exp): sign a new one")
    if issued - SKEW > now:
        raise CdsAuthError("the token was issued in the future (iat): check the signer's clock")
    if expires - now > MAX_LIFETIME + SKEW:
        raise CdsAuthError("the token lives too long: exp at most 5 minutes ahead")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise CdsAuthError("the jti claim must be a text of 1 to 255 characters")
    return Caller(issuer, jti, expires)

"""Reading FHIR JSON: each refusal names the element (a FHIR path) and says what to send instead."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from b12.errors import InputError


class FhirReadError(InputError):
    """A FHIR element b12 cannot read. ``path`` is the element ("MedicationRequest.dosageInstruction
    [0].doseAndRate[0].doseQuantity.unit"); ``field`` the field of b12's command it would fill."""

    def __init__(self, path: str, problem: str, *, field: str | None = None) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}", field=field)


def mapping(value: Any, path: str, *, field: str | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FhirReadError(path, f"expected a JSON object, got {_kind(value)}", field=field)
    return value


def items(value: Any, path: str, *, field: str | None = None) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise FhirReadError(path, f"expected a JSON array, got {_kind(value)}", field=field)
    return value


def text(value: Any, path: str, *, field: str | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FhirReadError(path, f"expected a non-empty string, got {_kind(value)}", field=field)
    if "\x00" in value:
        raise FhirReadError(path, "a NUL character is not text", field=field)
    return value


def optional_text(value: Any, path: str, *, field: str | None = None) -> str | None:
    return None if value is None else text(value, path, field=field)


def need(obj: Mapping[str, Any], key: str, path: str, *, field: str | None = None) -> Any:
    value = obj.get(key)
    if value is None or value == [] or value == {}:
        raise FhirReadError(f"{path}.{key}", "missing: b12 needs it", field=field)
    return value


def decimal(value: Any, path: str, *, field: str | None = None) -> Decimal:
    """A FHIR decimal as read by ``jsonio.loads`` (Decimal or int); a float, a string or a
    boolean is refused, as are NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        if isinstance(value, float):
            problem = (
                f"the binary float {value!r} is not exact: read the JSON with "
                "b12.adapters.fhir.jsonio.loads (decimals as Decimal)"
            )
        else:
            problem = f"expected a JSON number, got {_kind(value)}"
        raise FhirReadError(path, problem, field=field)
    number = Decimal(value)
    if not number.is_finite():
        raise FhirReadError(path, f"{value} is not a number", field=field)
    if abs(number.adjusted()) > 30:
        raise FhirReadError(path, f"{value} is out of any range b12 reads", field=field)
    return number


def positive_int(value: Any, path: str, *, field: str | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FhirReadError(
            path, f"expected a whole number of 1 or more, got {value!r}", field=field
        )
    return value


def fhir_date(value: Any, path: str, *, field: str | None = None) -> date:
    """A FHIR date or dateTime -> its day (a dateTime's own day, as written)."""
    raw = text(value, path, field=field)
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
        else:
            day = datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        raise FhirReadError(
            path, f"{raw!r} is not a full date: write YYYY-MM-DD (or a dateTime)", field=field
        ) from None
    if not 1900 <= day.year <= 2199:
        raise FhirReadError(path, f"{raw!r}: b12 reads dates from 1900 to 2199", field=field)
    return day


def instant(value: Any, path: str, *, field: str | None = None) -> datetime:
    """A FHIR dateTime with its time and zone -> an aware datetime."""
    raw = text(value, path, field=field)
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or len(raw) <= 10 or at.tzinfo is None:
        raise FhirReadError(
            path,
            f"{raw!r}: write a dateTime with its time and zone, e.g. 2027-01-04T09:30:00+00:00",
            field=field,
        )
    if not 1900 <= at.year <= 2199:
        raise FhirReadError(path, f"{raw!r}: b12 reads dates from 1900 to 2199", field=field)
    return at


def reference_id(value: Any, kind: str, path: str, *, field: str | None = None) -> str:
    """``{"reference": "Patient/P-0001"}`` -> "P-0001"; only a relative reference to ``kind``."""
    ref = mapping(value, path, field=field)
    raw = ref.get("reference")
    if raw is None and isinstance(ref.get("identifier"), Mapping):
        return text(ref["identifier"].get("value"), f"{path}.identifier.value", field=field)
    raw = text(raw, f"{path}.reference", field=field)
    if raw.startswith("urn:uuid:"):
        return raw
    prefix, _, rest = raw.rpartition("/")
    if not prefix.endswith(kind) or not rest:
        raise FhirReadError(
            f"{path}.reference",
            f"{raw!r}: write a reference to a {kind}, e.g. {kind}/ID",
            field=field,
        )
    return rest


def subject_code(resource: Mapping[str, Any], root: str) -> str:
    """The patient's code from ``root.subject`` (required): a reference to a Patient."""
    subject = need(resource, "subject", root, field="patient")
    return reference_id(subject, "Patient", f"{root}.subject", field="patient")


def unread_extension(url: object, path: str, field: str | None = None) -> FhirReadError:
    """The refusal of an extension b12 does not read (dropping it would lose what it says)."""
    return FhirReadError(
        path, f"extension {url!r} is not read: b12 would lose what it says", field=field
    )


def read_status(resource: Mapping[str, Any], root: str, allowed: Collection[str], why: str) -> str:
    """``root.status`` (required), one of ``allowed``; else an error saying ``why``."""
    status = text(need(resource, "status", root), f"{root}.status", field="status")
    if status not in allowed:
        raise FhirReadError(f"{root}.status", f"{status!r}: {why}", field="status")
    return status


def contained_medication(resource: Mapping[str, Any], root: str) -> tuple[Mapping[str, Any], str]:
    """The Medication ``root.medicationReference`` points to among the resource's contained ones
    ("#id"), and its path for messages."""
    reference = mapping(
        need(resource, "medicationReference", root, field="product"), f"{root}.medicationReference"
    )
    ref = text(reference.get("reference"), f"{root}.medicationReference.reference")
    contained = {
        f"#{c.get('id')}": c
        for c in items(resource.get("contained"), f"{root}.contained")
        if isinstance(c, Mapping)
    }
    if ref not in contained or contained[ref].get("resourceType") != "Medication":
        raise FhirReadError(
            f"{root}.medicationReference",
            f"{ref!r}: b12 reads a contained Medication (#id) or a medicationCodeableConcept",
            field="product",
        )
    return contained[ref], f"{root}.contained({ref})"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"{type(value).__name__} {value!r}"


#: Elements FHIR R4 marks as modifiers (they change what the rest of the resource means) that b12
#: reads itself, and the only values under which the resource means what b12 records. Status and
#: intent of the resources b12 records are checked by their readers; these are the others.
MODIFIER_VALUES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("Patient", "active"): (True,),
    ("Medication", "status"): ("active",),
}


def refuse_modifiers(value: Any, path: str) -> None:
    """Refuse what would change the meaning of a resource b12 does not read: a
    ``modifierExtension`` (FHIR: a reader that does not understand one must refuse the
    resource) at any depth, ``implicitRules``, and the modifier elements of MODIFIER_VALUES
    (``Patient.active`` false, a contained Medication's ``status`` other than active).
    Contained resources and every nested element are walked."""
    if isinstance(value, Mapping):
        kind = value.get("resourceType")
        sent = value.get("modifierExtension")
        if sent is not None and sent != []:
            first = sent[0] if isinstance(sent, list | tuple) and sent else sent
            url = first.get("url") if isinstance(first, Mapping) else None
            raise FhirReadError(
                f"{path}.modifierExtension",
                f"extension {url!r} changes what the element means and b12 does not read it "
                "(FHIR: a reader that does not understand a modifierExtension refuses the "
                "resource); send the resource without it, or record it in b12 directly",
                field="modifierExtension",
            )
        if isinstance(kind, str) and value.get("implicitRules") is not None:
            raise FhirReadError(
                f"{path}.implicitRules",
                "rules b12 does not know would change what the resource means: leave "
                "implicitRules out",
                field="implicitRules",
            )
        if isinstance(kind, str):
            for (of, name), allowed in MODIFIER_VALUES.items():
                if of == kind and name in value and value[name] not in allowed:
                    raise FhirReadError(
                        f"{path}.{name}",
                        f"{value[name]!r}: b12 reads a {kind} only with {name} "
                        + " or ".join(
                            repr(a).lower() if isinstance(a, bool) else a for a in allowed
                        )
                        + " (or without it)",
                        field=name,
                    )
        for key, inner in value.items():
            refuse_modifiers(inner, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            refuse_modifiers(inner, f"{path}[{i}]")


def resource_of(value: Any, kind: str) -> Mapping[str, Any]:
    """``value`` as a resource of ``kind``: a JSON object of that resourceType with no modifier
    b12 does not read (``refuse_modifiers``). Every reader of a resource starts here."""
    found = mapping(value, kind, field="resource")
    if found.get("resourceType") != kind:
        raise FhirReadError(
            f"{kind}.resourceType",
            f"{found.get('resourceType')!r}: send a {kind}",
            field="resource",
        )
    refuse_modifiers(found, kind)
    return found

"""b12: plan, check and record vitamin B12 injection therapy, with every number traced to its source.

The public API is listed in ``__all__`` (a test pins it); everything else is private. A door (the
command line, a web app, FHIR, CDS Hooks, an audit) builds one ``App`` from ``Settings`` and calls
the use cases with what it holds::

    app = b12.build(b12.Settings.read())
    given = b12.give(app.unit_of_work, app.knowledge, b12.GiveRequest(...), who, app.clock)

A record use case is given the App's ``unit_of_work`` (a factory) and opens, commits and closes
its own unit of work: a door never holds a transaction.

Heavy parts load on first use: ``import b12`` loads no validation library and no database layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from b12.errors import (
    B12Error,
    InputError,
    KnowledgeError,
    KnowledgeIntegrityError,
    KnowledgeReferenceError,
    KnowledgeSchemaError,
    RecordVersionError,
    UnknownNameError,
)

if TYPE_CHECKING:
    from b12.bootstrap import App, Settings, Upgraded, build, upgrade
    from b12.domain.audit import ChainCheck
    from b12.domain.findings import Basis, Finding, Level
    from b12.domain.patient import Patient
    from b12.domain.screening import ScreeningPolicy
    from b12.knowledge.loader import Knowledge, load_knowledge
    from b12.services.administering import Given, GiveRequest, Missed, give, record_missed
    from b12.services.corrections import Corrected, correct
    from b12.services.dosing import DoseRequest, DoseResult, calculate_dose
    from b12.services.follow_up import Status, patient_status
    from b12.services.intake import IntakeEstimate, Requirement, estimate_intake, requirement
    from b12.services.labs import LabReport, interpret_labs
    from b12.services.planning import Plan, PlanRequest, plan, plan_therapy
    from b12.services.ports import Clock, UnitOfWork
    from b12.services.record import (
        Due,
        LabsAdded,
        Prescribed,
        add_event,
        add_labs,
        add_patient,
        audit_anchor,
        due_on,
        list_patients,
        prescribe,
        stop_prescription,
        verify_audit,
    )
    from b12.services.screening import Screening, check, screen_patient

__version__ = "0.1.0"

#: Where each lazily imported name lives.
_LAZY = {
    **dict.fromkeys(("App", "Settings", "Upgraded", "build", "upgrade"), "b12.bootstrap"),
    **dict.fromkeys(("Clock", "UnitOfWork"), "b12.services.ports"),
    **dict.fromkeys(("Knowledge", "load_knowledge"), "b12.knowledge.loader"),
    **dict.fromkeys(("Finding", "Basis", "Level"), "b12.domain.findings"),
    "Patient": "b12.domain.patient",
    "ScreeningPolicy": "b12.domain.screening",
    "ChainCheck": "b12.domain.audit",
    # the knowledge's use cases: dose, plan, screening, results, intake
    **dict.fromkeys(("calculate_dose", "DoseRequest", "DoseResult"), "b12.services.dosing"),
    **dict.fromkeys(("plan", "plan_therapy", "PlanRequest", "Plan"), "b12.services.planning"),
    **dict.fromkeys(("check", "screen_patient", "Screening"), "b12.services.screening"),
    **dict.fromkeys(("interpret_labs", "LabReport"), "b12.services.labs"),
    **dict.fromkeys(
        ("estimate_intake", "IntakeEstimate", "requirement", "Requirement"), "b12.services.intake"
    ),
    # the record's use cases
    **dict.fromkeys(
        (
            "add_patient",
            "list_patients",
            "prescribe",
            "Prescribed",
            "stop_prescription",
            "add_labs",
            "LabsAdded",
            "add_event",
            "due_on",
            "Due",
            "verify_audit",
            "audit_anchor",
        ),
        "b12.services.record",
    ),
    **dict.fromkeys(
        ("give", "GiveRequest", "Given", "record_missed", "Missed"), "b12.services.administering"
    ),
    **dict.fromkeys(("correct", "Corrected"), "b12.services.corrections"),
    **dict.fromkeys(("patient_status", "Status"), "b12.services.follow_up"),
}

__all__ = [
    "App",
    "B12Error",
    "Basis",
    "ChainCheck",
    "Clock",
    "Corrected",
    "DoseRequest",
    "DoseResult",
    "Due",
    "Finding",
    "GiveRequest",
    "Given",
    "InputError",
    "IntakeEstimate",
    "Knowledge",
    "KnowledgeError",
    "KnowledgeIntegrityError",
    "KnowledgeReferenceError",
    "KnowledgeSchemaError",
    "LabReport",
    "LabsAdded",
    "Level",
    "Missed",
    "Patient",
    "Plan",
    "PlanRequest",
    "Prescribed",
    "RecordVersionError",
    "Requirement",
    "Screening",
    "ScreeningPolicy",
    "Settings",
    "Status",
    "UnitOfWork",
    "UnknownNameError",
    "Upgraded",
    "__version__",
    "add_event",
    "add_labs",
    "add_patient",
    "audit_anchor",
    "build",
    "calculate_dose",
    "check",
    "correct",
    "due_on",
    "estimate_intake",
    "give",
    "interpret_labs",
    "list_patients",
    "load_knowledge",
    "patient_status",
    "plan",
    "plan_therapy",
    "prescribe",
    "record_missed",
    "requirement",
    "screen_patient",
    "stop_prescription",
    "upgrade",
    "verify_audit",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'b12' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

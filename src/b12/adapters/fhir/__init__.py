"""FHIR R4 for b12: prescriptions, administrations, results, patients and findings as resources,
and resources read back as b12's commands. Loaded only when a FHIR door is used (``b12 fhir``,
``/fhir/r4``, CDS Hooks): never on the command line's start path.

Modules: ``jsonio`` (exact JSON), ``codes`` (code systems, "verify" marks), ``reading`` (the
refusals), ``medication_request`` (the order: ``read_medication_request``), ``resources`` (the
other resources), ``bundle`` (export and import), ``rest`` (the ``/fhir/r4`` routes).
"""

"""Every command of `b12`, declared once: its words, arguments, options, help and handler.

A command is one ``Command`` row in ``COMMANDS`` and a function in a handler module of this
package (``"module:function"``), which is imported only when that command runs. The handler gets
each argument and option as a keyword, by its ``dest``, and returns the exit code. The options
several commands share (the patient, ``--db``, ``--json``, ``--kb``, ``--who``) are declared here
once. ``parser`` turns a row into an argparse parser; nothing here imports more than dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Arg:
    """A positional argument; ``many``: one or more; ``optional``: it may be left out."""

    dest: str
    help: str
    many: bool = False
    optional: bool = False

    @property
    def metavar(self) -> str:
        return self.dest.upper()


@dataclass(frozen=True, slots=True)
class Opt:
    """An option. ``takes``: "text" (one value), "texts" (repeat for more), "flag", or "count"
    (a whole number, at least ``minimum``)."""

    flag: str
    help: str
    dest: str = ""
    takes: str = "text"
    default: object = None
    required: bool = False
    minimum: int | None = None

    @property
    def name(self) -> str:
        return self.dest or self.flag[2:].replace("-", "_")


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its words (``"patient add"``), handler, one-line help, then its parameters."""

    words: str
    handler: str
    help: str
    params: tuple[Arg | Opt, ...] = ()

    @property
    def offered(self) -> frozenset[str]:
        """What an error may name: every option, and every argument by its name in capitals."""
        return frozenset(p.flag if isinstance(p, Opt) else p.metavar for p in self.params)


# --- the options several commands share ---------------------------------------------------------

JSON = Opt(
    "--json", "Print one JSON object on stdout.", dest="as_json", takes="flag", default=False
)
KB = Opt(
    "--kb", "Folder of an alternative knowledge base (default: $B12_KB, else the one shipped)."
)
DB = Opt(
    "--db",
    "SQLAlchemy URL or SQLite file of the record (default: $B12_DATABASE_URL, else b12.db in the "
    "user data folder).",
)
WHO = Opt("--who", "Who records this (default: $B12_USER, else the login name).", dest="by")

AGE_YEARS = Opt("--age-years", "Age in years, e.g. 45 or 2.5.")
AGE_MONTHS = Opt("--age-months", "Age in months (infants), e.g. 3.")
SEX = Opt("--sex", "female or male.")
WEIGHT = Opt("--weight-kg", "Weight in kg, e.g. 70.")
PREGNANT = Opt("--pregnant", "The patient is pregnant.", takes="flag", default=False)
BREASTFEEDING = Opt("--breastfeeding", "The patient is breastfeeding.", takes="flag", default=False)
CONDITION = Opt(
    "--condition",
    "A condition (repeat the option for more); pregnancy or breastfeeding sets that flag.",
    takes="texts",
)
MEDICATION = Opt(
    "--medication", "A medicine taken (generic or brand; repeat for more).", takes="texts"
)
ALLERGY = Opt(
    "--allergy", 'An allergy (repeat for more), e.g. cobalt or "Allergy to cobalt".', takes="texts"
)
MIX = Opt("--mix", "Something else drawn into the same syringe (repeat for more).", takes="texts")

#: The patient, as every screening command takes it.
PATIENT = (
    AGE_YEARS,
    AGE_MONTHS,
    SEX,
    WEIGHT,
    PREGNANT,
    BREASTFEEDING,
    CONDITION,
    MEDICATION,
    ALLERGY,
)
#: The patient as the requirement tables read it.
LIFE_STAGE = (AGE_YEARS, AGE_MONTHS, PREGNANT, BREASTFEEDING)

PRODUCT = Opt("--product", "Product id or name (see `b12 products`).")
CONCENTRATION = Opt("--concentration", "Strength instead of a product, e.g. 1000mcg/mL.")
RANGE = Opt(
    "--range",
    "The lab's own range NAME=LOW-HIGH[UNIT], both ends inclusive (repeat).",
    dest="lab_range",
    takes="texts",
)
TABLE = Opt(
    "--table",
    "Requirement table id (default: the IOM table; see `b12 requirement`).",
    dest="table_id",
)
CODE = Arg("code", "The patient's pseudonymous identifier, e.g. P-0042.")
START = Opt("--start", "The date of the first dose, YYYY-MM-DD.")
MONTHS = Opt("--months", "How far to plan, in months (1-60).", takes="count", default=12)
NEURO = Opt(
    "--neuro", "Neurological involvement (selects the regimen).", takes="flag", default=False
)

USERNAME = Arg("username", "The account's username, e.g. n.martin.")
INJECTS = Opt(
    "--injects",
    "A caregiver who gives the injections (under a self-injection prescription).",
    takes="flag",
    default=False,
)

_TOPICS = (
    "indications, contraindications, interactions, adverse-effects, overdose, storage, technique, "
    "requirements, foods, monitoring, products, laboratory, pharmacology, deficiency"
)

#: The groups of commands (`b12 patient add ...`), each with its help.
GROUPS: dict[str, str] = {
    "patient": "Patients of the therapy record (pseudonymous).",
    "db": "The therapy record's database.",
    "lab": "Laboratory results of the record.",
    "event": "Adverse events of the record.",
    "audit-log": "The hash-chained audit trail.",
    "audit": "Audit every administration of a population (needs b12[audit]).",
    "export": "Export the record for other tools (needs b12[audit]).",
    "user": "Accounts of the web app: staff, patients and their carers.",
    "fhir": "The record as FHIR R4: a patient's Bundle out, a Bundle in by b12's own rules.",
    "supply": "Supply at home: ampoules and vials dispensed, drawn, discarded; when it runs out.",
    "calendar": "Private calendar addresses of a patient's course: made, listed, revoked.",
}

ABOUT = (
    "Plan, check and record vitamin B12 injection therapy. Decision support: every result shows "
    "its basis."
)

COMMANDS: tuple[Command, ...] = (
    # --- the knowledge ----------------------------------------------------------------------------
    Command(
        "sources",
        "knowledge_commands:sources",
        "List the sources with their kind and trust (regulatory > guideline > reference > "
        "educational > anecdotal).",
        (JSON, KB),
    ),
    Command(
        "products",
        "knowledge_commands:products",
        "List the products: ingredients per mL, container, volume, routes, sources.",
        (JSON, KB),
    ),
    Command(
        "indications",
        "knowledge_commands:indications",
        "List the indications with their synonyms, ICD-10 codes and sources.",
        (JSON, KB),
    ),
    Command(
        "regimens",
        "knowledge_commands:regimens",
        "List the regimens (most trusted first with --indication), each as phases.",
        (Opt("--indication", "Only the regimens for this indication (id or name)."), JSON, KB),
    ),
    Command(
        "conflicts",
        "knowledge_commands:conflicts",
        "List every disagreement between sources, each position, and the one followed by default.",
        (JSON, KB),
    ),
    Command(
        "info",
        "knowledge_commands:info_command",
        "Monograph sections of a topic, each item with its sources and any conflict.",
        (Arg("topic", f"One of: {_TOPICS}."), JSON, KB),
    ),
    Command(
        "dose",
        "dose_command:dose",
        "The volume to draw for a dose, what to open, and every check with its basis. Exit 3 on "
        "a stop.",
        (
            Arg("dose", "The dose as ordered: 500mcg, 0.5 mg, 1000 µg ..."),
            PRODUCT,
            CONCENTRATION,
            Opt(
                "--route",
                "IM, SC, deep-SC, IV, intrathecal, oral ... (default: the product's first).",
            ),
            Opt(
                "--substance",
                "The cobalamin of a bare --concentration (cyanocobalamin, hydroxocobalamin ...): "
                "its route rules and warnings apply.",
            ),
            Opt("--site", "Injection site: deltoid, vastus lateralis, ventrogluteal ..."),
            Opt("--indication", "Check the dose against this indication's regimens."),
            *PATIENT,
            MIX,
            Opt("--expiry", "The product's expiry date, YYYY-MM-DD."),
            Opt(
                "--assume-iu-is-mcg",
                "Accept an IU dose as 1 IU = 1 mcg (recorded as an assumption).",
                takes="flag",
                default=False,
            ),
            JSON,
            KB,
        ),
    ),
    Command(
        "plan",
        "plan_command:plan",
        "Plan a course: regimen, dated doses and volumes, laboratory checks, supply. Exit 3 on a "
        "stop.",
        (
            Opt(START.flag, START.help, required=True),
            Opt("--indication", "Indication id or name (see `b12 indications`)."),
            Opt("--regimen", "A regimen id instead of the default (see `b12 regimens`)."),
            PRODUCT,
            CONCENTRATION,
            MONTHS,
            NEURO,
            Opt("--b12", "Baseline B12 level, e.g. 150pg/mL or 110pmol/L."),
            Opt("--ics", "Also write the plan as an iCalendar file."),
            *PATIENT,
            JSON,
            KB,
        ),
    ),
    Command(
        "check",
        "check_command:check",
        "Screen a patient: contraindications, cautions, interactions, syringe partners, route.",
        (
            *PATIENT,
            PRODUCT,
            Opt("--route", "Planned route: IM, SC, deep-SC, IV, intrathecal, oral ..."),
            MIX,
            Opt(
                "--bypass",
                "Bypass a hard stop: CODE=REASON (the reason is reported).",
                takes="texts",
            ),
            Opt(
                "--interrupt-on",
                "Lowest level that interrupts (exit 3): stop, warning or info.",
                default="stop",
            ),
            JSON,
            KB,
        ),
    ),
    Command(
        "labs",
        "labs_command:labs",
        "Interpret results: each banded in the unit written (NICE NG239 for B12), the range used "
        "shown.",
        (
            Arg(
                "readings", "Results as NAME=VALUE[UNIT]: b12=150pg/mL hb=11.2g/dL mcv=104fL", True
            ),
            RANGE,
            Opt(
                "--day",
                "Day of treatment the sample was taken (0 = the day of the first injection of "
                "the course).",
                takes="count",
                minimum=0,
            ),
            AGE_YEARS,
            AGE_MONTHS,
            SEX,
            PREGNANT,
            BREASTFEEDING,
            JSON,
            KB,
        ),
    ),
    Command(
        "requirement",
        "labs_command:requirement_command",
        "The daily B12 requirement, with every table's value and where they disagree.",
        (*LIFE_STAGE, TABLE, JSON, KB),
    ),
    Command(
        "intake",
        "labs_command:intake",
        "A day's dietary B12 from foods, against the daily requirement.",
        (
            Arg("foods", "Foods eaten in a day as FOOD=GRAMS: liver=100 milk=250g", True),
            *LIFE_STAGE,
            TABLE,
            JSON,
            KB,
        ),
    ),
    # --- the record -------------------------------------------------------------------------------
    Command(
        "db upgrade",
        "db_command:db_upgrade",
        "Create the record's tables, or bring them to the revision this b12 needs (safe to repeat).",
        (DB, JSON),
    ),
    Command(
        "db grant",
        "db_command:db_grant",
        "Let ROLE read and insert, and update only the web app's accounts and sessions (PostgreSQL; "
        "run as the tables' owner, after upgrade).",
        (Arg("role", "The PostgreSQL role the application connects as."), DB, JSON),
    ),
    Command(
        "patient add",
        "record_commands:patient_add",
        "Add a patient (a pseudonymous code and the screening profile).",
        (
            CODE,
            Opt(
                "--correct",
                "Record a corrected profile for an existing patient.",
                takes="flag",
                default=False,
            ),
            *PATIENT,
            Opt("--born", "Date of birth, YYYY-MM-DD (instead of --age-years/--age-months)."),
            Opt(
                "--ward",
                "The ward or list the patient is on, e.g. 'Ward 4' (a correction without it "
                "keeps the ward).",
            ),
            Opt("--at", "When, YYYY-MM-DD[THH:MM] (default now)."),
            DB,
            WHO,
            JSON,
        ),
    ),
    Command(
        "patient list",
        "record_commands:patient_list",
        "The patients of the record by code, a page at a time (--limit, --after).",
        (
            Opt(
                "--limit",
                "At most this many patients (1-10000).",
                takes="count",
                default=100,
                minimum=1,
            ),
            Opt("--after", "Start after this patient code (the next page)."),
            DB,
            JSON,
        ),
    ),
    Command(
        "patient show",
        "record_commands:patient_show",
        "One patient's profile and prescriptions, in words.",
        (CODE, DB, JSON),
    ),
    Command(
        "prescribe",
        "record_commands:prescribe",
        "Prescribe a planned course (kept with its regimen, schedule, product and knowledge "
        "fingerprint).",
        (
            CODE,
            START,
            Opt("--indication", "Indication id or name."),
            Opt("--regimen", "A regimen id instead of the default."),
            Opt("--product", "Product id or name."),
            Opt("--concentration", "Strength instead of a product."),
            Opt("--months", "How far to plan, in months.", takes="count", default=12),
            Opt("--neuro", "Neurological involvement.", takes="flag", default=False),
            Opt(
                "--self-injection",
                "The doses are given at home, by the patient or a caregiver linked to inject.",
                takes="flag",
                default=False,
            ),
            Opt("--stop", "Stop the active prescription.", takes="flag", default=False),
            Opt("--reason", "Why it stops (with --stop)."),
            Opt("--override", "Prescribe despite a stop; the reason is kept."),
            Opt("--at", "When prescribed (default now)."),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "give",
        "record_commands:give",
        "Give the dose due: the five rights, the volume to draw, the site, then the record. Exit "
        "3 on a stop.",
        (
            CODE,
            Opt("--dose", "Dose given (default: the prescribed dose)."),
            Opt("--product", "Product (default: the prescribed one)."),
            Opt("--route", "Route (default: the prescribed one)."),
            Opt("--site", "Site, e.g. 'left deltoid' (default: suggested)."),
            Opt("--lot", "Lot number on the vial or ampoule."),
            Opt("--expiry", "Expiry date of the lot, YYYY-MM-DD."),
            Opt("--at", "When given, YYYY-MM-DDTHH:MM (default now)."),
            Opt("--override", "Record despite a stop; the reason is kept."),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "missed",
        "record_commands:missed",
        "Record a missed dose: never doubled; the course re-flows; the prescriber must review.",
        (
            CODE,
            Opt("--reason", "Why the dose was not given.", required=True),
            Opt("--refused", "The patient refused it.", takes="flag", default=False),
            Opt(
                "--held", "It was held on purpose (a clinical reason).", takes="flag", default=False
            ),
            Opt("--at", "The day it was missed (default today)."),
            DB,
            WHO,
            JSON,
        ),
    ),
    Command(
        "lab add",
        "follow_commands:lab_add",
        "Add results (normalised to each test's canonical unit, with their LOINC code), judged.",
        (
            Arg("code", "The patient's pseudonymous identifier."),
            Arg("results", "NAME=VALUE[UNIT], e.g. hb=11.2g/dL.", True),
            Opt("--at", "Day the sample was taken, YYYY-MM-DD."),
            RANGE,
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "status",
        "follow_commands:status",
        "Timeline of planned, given and missed doses and results; due, overdue; every result "
        "judged.",
        (
            Arg("code", "The patient's pseudonymous identifier."),
            Opt("--at", "The day to judge due and overdue (default today)."),
            Opt("--plot", "Write the laboratory trends to FILE (.png or .svg)."),
            RANGE,
            DB,
            KB,
            JSON,
        ),
    ),
    Command(
        "summary",
        "summary_command:summary",
        "The course on one page: regimen and source, doses with site and lot, missed, results, "
        "findings, conflicts, the body-store estimate; --pdf writes it to print.",
        (
            Arg("code", "The patient's pseudonymous identifier."),
            Opt("--pdf", "Write the summary to FILE (.pdf; needs `pip install 'b12[pdf]'`)."),
            DB,
            KB,
            JSON,
        ),
    ),
    Command(
        "due",
        "follow_commands:due",
        "Everyone due or overdue for a dose on a day (--ward: on one ward).",
        (
            Opt("--date", "The day (default today).", dest="at"),
            Opt("--ward", "Only the patients on this ward (default: every ward)."),
            DB,
            JSON,
        ),
    ),
    Command(
        "overrides",
        "follow_commands:overrides",
        "Override rates per finding: stops and warnings proceeded past in the record, and CDS "
        "Hooks cards overridden in the EHR, with the reasons.",
        (DB, JSON),
    ),
    Command(
        "event add",
        "follow_commands:event_add",
        "Record an adverse event (linked to that day's injection when there was one).",
        (
            Arg("code", "The patient's pseudonymous identifier."),
            Opt("--description", "What happened.", required=True),
            Opt("--severity", "mild, moderate or severe.", default="mild"),
            Opt("--neurological", "New neurological symptoms.", takes="flag", default=False),
            Opt("--administration", "The injection it followed (id)."),
            Opt("--at", "The day, YYYY-MM-DD (default today)."),
            DB,
            WHO,
            JSON,
        ),
    ),
    Command(
        "supply show",
        "supply_commands:show",
        "The supply at home: containers left, what was drawn and discarded, the day it runs out "
        "and the day to ask for a new prescription by.",
        (
            CODE,
            Opt("--at", "The day (default today)."),
            Opt(
                "--lead-days",
                "Days before the run-out day to ask by (policy; default $B12_SUPPLY_LEAD_DAYS, "
                "else 14).",
                takes="count",
                minimum=0,
            ),
            DB,
            KB,
            JSON,
        ),
    ),
    Command(
        "supply dispense",
        "supply_commands:dispense",
        "Record ampoules or vials dispensed to a patient for use at home (product, count, lot, "
        "expiry).",
        (
            CODE,
            Opt("--product", "Product id or name (see `b12 products`).", required=True),
            Opt("--count", "How many ampoules or vials.", takes="count", required=True, minimum=1),
            Opt("--lot", "Lot number on the pack.", required=True),
            Opt("--expiry", "Expiry date on the pack, YYYY-MM-DD.", required=True),
            Opt("--at", "When dispensed (default now)."),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "supply waste",
        "supply_commands:waste",
        "Record ampoules, vials or a volume discarded from a dispensed lot, and why.",
        (
            CODE,
            Opt("--lot", "The lot it came from.", required=True),
            Opt(
                "--count", "Whole ampoules or vials discarded.", takes="count", default=0, minimum=0
            ),
            Opt("--volume", "Volume discarded from the open vial, in mL, e.g. 0.5."),
            Opt("--reason", "Why, in words.", required=True),
            Opt("--at", "When (default now)."),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "calendar make",
        "calendar_commands:make",
        "A private calendar address of the patient's course, to subscribe to in a calendar app "
        "(shown once: the record keeps only its hash).",
        (
            CODE,
            Opt(
                "--url",
                "The web app's address as patients reach it, e.g. https://b12.clinic.example "
                "(default: the path only).",
            ),
            Opt("--at", "When it is made (default now)."),
            DB,
            WHO,
            JSON,
        ),
    ),
    Command(
        "calendar list",
        "calendar_commands:list_feeds",
        "The patient's live calendar addresses: id, when made and by whom.",
        (CODE, DB, JSON),
    ),
    Command(
        "calendar revoke",
        "calendar_commands:revoke",
        "Revoke a calendar address: it answers 404 from now on.",
        (
            CODE,
            Arg("feed", "The address's id (see `b12 calendar list CODE`)."),
            Opt("--at", "When it is revoked (default now)."),
            DB,
            WHO,
            JSON,
        ),
    ),
    Command(
        "audit-log verify",
        "follow_commands:audit_verify",
        "Check every audit stream's keyed chain and every record row against its link; with "
        "--anchor, the heads kept outside the database too (exit 3 when anything does not hold).",
        (
            Opt("--anchor", "An anchor `b12 audit-log anchor --out` wrote: check the heads."),
            DB,
            JSON,
        ),
    ),
    Command(
        "audit-log anchor",
        "follow_commands:audit_anchor_command",
        "Print (or write) the heads of the audit streams and their root, to keep outside the "
        "database; `verify --anchor FILE` later finds a truncated tail or a rewritten history.",
        (
            Opt(
                "--out",
                "Write the anchor to FILE (kept off the database); without it, the anchor is "
                "printed as JSON.",
            ),
            DB,
            JSON,
        ),
    ),
    Command(
        "correct",
        "correct_command:correct_command",
        "Correct a record: a new record replaces it and points at it; nothing is changed or "
        "deleted.",
        (
            Arg("kind", "administration, lab or event."),
            Arg("code", "The patient's pseudonymous identifier."),
            Arg("record_id", "The record's id (see `b12 status CODE --json`)."),
            Arg(
                "changes",
                "FIELD=VALUE, e.g. dose_mcg=100 site='left deltoid'; for a lab: "
                "reading=hb=11.2g/dL.",
                True,
            ),
            Opt(
                "--reason", "Why the record is corrected (kept in the audit trail).", required=True
            ),
            Opt(
                "--override",
                "Correct an administration despite a stop of the dose check (a dose that reads "
                "as mg written as mcg, say); the reason is kept.",
            ),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "void",
        "correct_command:void_command",
        "Mark an administration or a result entered in error (e.g. recorded for the wrong "
        "patient): it no longer counts; it is kept.",
        (
            Arg("kind", "administration or lab."),
            Arg("code", "The patient's pseudonymous identifier."),
            Arg("record_id", "The record's id (see `b12 status CODE --json`)."),
            Opt(
                "--reason",
                "Why the record was entered in error (kept on it and in the audit trail).",
                required=True,
            ),
            DB,
            WHO,
            JSON,
        ),
    ),
    # --- the population audit (docs/population-audit.md) ------------------------------------------
    Command(
        "audit population",
        "audit_commands:audit_population",
        "Run every audit rule over every administration of a folder in the audit layout, or of "
        "the record (--db); exit 3 when a stop-level rule found any.",
        (
            Arg(
                "directory",
                "Folder in the audit layout (from `b12 export parquet` or `b12 audit synth`).",
                optional=True,
            ),
            Opt("--db", "Audit this record instead of a folder (URL or SQLite file)."),
            Opt("--engine", "duckdb (embedded) or spark (needs b12[spark]).", default="duckdb"),
            Opt("--spark-master", "Spark master URL (default: $B12_SPARK_MASTER, else local[2])."),
            Opt(
                "--as-of",
                "End of the audit, UTC (YYYY-MM-DD or YYYY-MM-DDTHH:MM; default: the folder's "
                "own, else the day after the last dose).",
            ),
            Opt("--report", "Write the HTML report, its plots and the findings to this folder."),
            KB,
            JSON,
        ),
    ),
    Command(
        "audit synth",
        "audit_commands:audit_synth",
        "Write a synthetic population in the audit layout with a known set of injected errors "
        "(truth.parquet), seeded.",
        (
            Opt("--patients", "How many patients.", takes="count", required=True, minimum=1),
            Opt("--out", "Folder to write (its tables are replaced).", required=True),
            Opt(
                "--seed", "Seed: the same seed, the same data.", takes="count", default=0, minimum=0
            ),
            Opt(
                "--errors-per-rule",
                "Injected errors of each rule's kind (default: one).",
                takes="count",
                minimum=1,
            ),
            KB,
            JSON,
        ),
    ),
    Command(
        "export parquet",
        "audit_commands:export_parquet",
        "Write the record as the population audit's layout: Parquet, partitioned by month, "
        "streamed in batches.",
        (Arg("out", "Folder to write the layout's tables in."), DB, KB, JSON),
    ),
    Command(
        "fhir export",
        "fhir_commands:fhir_export",
        "A patient's record as a FHIR R4 Bundle: Patient with the screening profile "
        "(AllergyIntolerances, Conditions, MedicationStatements, a body-weight Observation), "
        "MedicationRequests, MedicationAdministrations with their DetectedIssues, Observations "
        "(the read is audited).",
        (
            CODE,
            Opt("--out", "Write the Bundle to this file (default: print it)."),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "fhir import",
        "fhir_commands:fhir_import",
        "Record a FHIR Bundle (the patient with the whole profile first, so that its orders and "
        "injections are screened with it), or one MedicationRequest (an order), MedicationAdministration (an "
        "injection done) or Observation (a result), by b12's rules. Exit 3 on a stop.",
        (
            Arg("file", "The FHIR JSON file (a Bundle or one resource)."),
            Opt("--override", "The reason a stop is overridden (kept with the record)."),
            Opt("--at", "When it is recorded, YYYY-MM-DD[THH:MM] (default: now)."),
            DB,
            WHO,
            KB,
            JSON,
        ),
    ),
    Command(
        "example",
        "example_command:example",
        "A worked example: a patient, a prescription, doses given and missed, results, status, "
        "plot.",
        (
            Opt("--folder", "Where the example database and plot go (default: b12's data folder)."),
            JSON,
            KB,
        ),
    ),
    Command(
        "serve",
        "web_commands:serve",
        "Run the web app and its JSON API (needs `pip install 'b12[web]'`).",
        (
            Opt("--host", "Address to listen on.", default="127.0.0.1"),
            Opt("--port", "Port to listen on (1-65535).", takes="count", default=8000, minimum=1),
            Opt(
                "--workers",
                "Worker processes (1-64; one per core serves the most).",
                takes="count",
                default=1,
                minimum=1,
            ),
            DB,
        ),
    ),
    Command(
        "user add",
        "web_commands:user_add",
        "Add an account (the password from $B12_PASSWORD or asked twice).",
        (
            USERNAME,
            Opt(
                "--role",
                "prescriber, nurse, pharmacist, patient or caregiver.",
                required=True,
            ),
            Opt(
                "--patient",
                "The patient code a patient's or caregiver's account may see (repeat).",
                takes="texts",
            ),
            INJECTS,
            DB,
            JSON,
        ),
    ),
    Command(
        "user list",
        "web_commands:user_list",
        "Every account of the web app: role, state, the patients it is linked to (never a "
        "password).",
        (DB, JSON),
    ),
    Command(
        "user disable",
        "web_commands:user_disable",
        "Disable an account: it can no longer log in, its sessions end now.",
        (USERNAME, DB, JSON),
    ),
    Command(
        "user passwd",
        "web_commands:user_passwd",
        "Set a new password (from $B12_PASSWORD or asked twice); the account's sessions end.",
        (USERNAME, DB, JSON),
    ),
    Command(
        "user link",
        "web_commands:user_link",
        "Link a patient's or a carer's account to a patient (again after an unlink).",
        (USERNAME, CODE, INJECTS, DB, JSON),
    ),
    Command(
        "user unlink",
        "web_commands:user_unlink",
        "End an account's link to a patient: its next request no longer reaches the patient.",
        (USERNAME, CODE, DB, JSON),
    ),
)


def by_words() -> dict[str, Command]:
    """Every command by its words ("dose", "patient add")."""
    return {c.words: c for c in COMMANDS}

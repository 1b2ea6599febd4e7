"""A pack's GS1 element string (a DataMatrix or GS1-128 read by a scanner in keyboard mode), read
with biip: GTIN (AI 01), expiry (AI 17, YYMMDD; day 00 is the month's last day), lot (AI 10),
serial (AI 21). Scanners type the group separator as the control character GS (\\x1d) or as a
substitute; both are read, and so is the human-readable form, (01)...(17)...(10)...."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from b12.errors import InputError

#: What scanners and keyboards type for the group separator when they cannot type \x1d.
SEPARATORS = ("\x1d", "<GS>", "{GS}", "^]", "|")
MAX_SCAN = 200


@dataclass(frozen=True)
class Pack:
    gtin: str | None
    expiry: date | None
    lot: str | None
    serial: str | None


def read_scan(text: str) -> Pack:
    """The pack's GTIN, expiry, lot and serial, or an InputError naming the field ``scan``."""
    import biip

    raw = text.strip()
    if len(raw) > MAX_SCAN or "\x00" in raw:
        raise InputError(
            f"the scan is not a GS1 element string (at most {MAX_SCAN} characters); scan the "
            "pack again, or type the lot and expiry",
            field="scan",
        )
    for substitute in SEPARATORS[1:]:
        raw = raw.replace(substitute, "\x1d")
    from biip.gs1_messages import GS1Message

    message = None
    try:  # "(01)..." is the human-readable form printed under the barcode
        human = raw.startswith("(")
        message = GS1Message.parse_hri(raw) if human else biip.parse(raw).gs1_message
    except Exception:  # biip raises its own ParseError and, for odd input, others
        message = None
    if message is None or not message.element_strings:
        raise InputError(
            f"the scan {text[:60]!r} is not a GS1 element string such as "
            "(01)09501101530003(17)271231(10)LOT42; scan the pack's DataMatrix again, or type "
            "the lot and expiry",
            field="scan",
        )
    found = {e.ai.ai: e for e in message.element_strings}
    expiry = found["17"].date if "17" in found else None
    return Pack(
        found["01"].value if "01" in found else None,
        expiry if isinstance(expiry, date) else None,
        found["10"].value if "10" in found else None,
        found["21"].value if "21" in found else None,
    )

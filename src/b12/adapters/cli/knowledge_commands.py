"""`b12 sources | products | indications | regimens | conflicts | info | example`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from b12.adapters.cli.app import open_app
from b12.adapters.cli.output import console, emit_json, table
from b12.knowledge import Knowledge
from b12.knowledge.views import info, list_items


def _header(kb: Knowledge) -> dict[str, Any]:
    return {"version": kb.version, "fingerprint": kb.fingerprint}


def _sources(item: dict[str, Any]) -> str:
    return ", ".join(item.get("sources", ()))


def _short(item: dict[str, Any]) -> str:
    for key in ("says", "effect", "name", "title", "claim"):
        if key in item:
            return str(item[key])
    return ""


def _flag(item: dict[str, Any]) -> str:
    status = item.get("status", "supported")
    if status == "supported":
        return ""
    return f"{status}" + (f" ({item['conflict']})" if "conflict" in item else "")


def _show_list(kb: Knowledge, what: str, items: list[dict[str, Any]]) -> None:
    out = console()
    title = f"{what.capitalize()} ({len(items)}) - knowledge {kb.fingerprint}"
    if what == "sources":
        rows = [
            (
                i["id"],
                str(i["trust"]),
                i["kind"],
                i["title"],
                i.get("file") or i.get("address") or i.get("citation", ""),
            )
            for i in items
        ]
        out.print(table(title, ("id", "trust", "kind", "title", "where"), rows))
    elif what == "conflicts":
        for i in items:
            out.print(f"[bold]{i['id']}[/bold]: {i['claim']}")
            for p in i["positions"]:
                mark = "->" if p["default"] else "  "
                out.print(
                    f"  {mark} {p['says']}  [dim]({', '.join(p['sources'])}; trust {p['trust']})[/dim]"
                )
            out.print(
                f"     [italic]followed: {i['default']['position']}. {i['default']['reason']}[/italic]\n"
            )
        out.print(f"{len(items)} conflicts - knowledge {kb.fingerprint}")
    elif what == "products":
        rows = [
            (i["id"], per_ml(i), container(i), ", ".join(i.get("routes", ())) or "-", _flag(i))
            for i in items
        ]
        out.print(table(title, ("id", "per mL", "container", "routes", "status"), rows))
    elif what == "regimens":
        rows = [(i["id"], i["indication"], i["title"], _sources(i), _flag(i)) for i in items]
        out.print(table(title, ("id", "indication", "regimen", "sources", "status"), rows))
    else:
        named = [(i["id"], i["name"], _sources(i), _flag(i)) for i in items]
        out.print(table(title, ("id", "name", "sources", "status"), named))


def _amount(mcg: Decimal) -> str:
    """A strength as a clinician reads it: mcg below 10 mg, mg from there."""
    from b12.domain.display import format_mass

    return format_mass(mcg, "mg" if mcg >= 10_000 else "mcg")


def per_ml(product: dict[str, Any]) -> str:
    """Each ingredient per mL ('cyanocobalamin 1,000 mcg'); a strength not known is said so."""
    from decimal import Decimal

    said = []
    for ingredient in product.get("ingredients", ()):
        amount, volume = ingredient.get("amount_mcg"), ingredient.get("per_ml")
        if amount is None or volume is None:
            said.append(f"{ingredient['substance']} (strength not given)")
        else:
            each = Decimal(amount) / Decimal(volume)
            if each == each.quantize(Decimal("0.001")):
                said.append(f"{ingredient['substance']} {_amount(each)}")
            else:  # not a round figure per mL: as the label gives it
                said.append(f"{ingredient['substance']} {_amount(Decimal(amount))}/{volume} mL")
    return "; ".join(said) or "-"


def container(product: dict[str, Any]) -> str:
    """'10 x ampoule of 1 mL'; a container's volume or units when the sources give them."""
    from b12.domain.display import format_number

    held = product.get("container") or {}
    if not held:
        return "-"
    count = held.get("pack_count", 1)
    said = f"{count} x {held['kind']}" if count != 1 else str(held["kind"])
    if held.get("volume_ml") is not None:
        said += f" of {format_number(held['volume_ml'])} mL"
    elif held.get("units") is not None:
        said += f" of {held['units']} units"
    return said


def _list(what: str, as_json: bool, kb_path: str | None, indication: str | None = None) -> int:
    kb = open_app(kb=kb_path).knowledge
    items = list_items(kb, what, indication)
    if as_json:
        emit_json({**_header(kb), what: items})
    else:
        _show_list(kb, what, items)
    return 0


def sources(
    *,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """List the sources with their kind and trust (regulatory > guideline > reference > educational > anecdotal)."""
    return _list("sources", as_json, kb)


def products(
    *,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """List the products: ingredients per mL, container, routes, sources."""
    return _list("products", as_json, kb)


def indications(
    *,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """List the indications with their synonyms and sources."""
    return _list("indications", as_json, kb)


def regimens(
    *,
    indication: str | None = None,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """List the regimens (most trusted first with --indication), each as phases."""
    return _list("regimens", as_json, kb, indication)


def conflicts(
    *,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """List every disagreement between sources, each position, and the one followed by default."""
    return _list("conflicts", as_json, kb)


def info_command(
    *,
    topic: str,
    as_json: bool = False,
    kb: str | None = None,
) -> int:
    """Monograph sections of a topic, each item with its sources and any conflict."""
    knowledge = open_app(kb=kb).knowledge
    result = info(knowledge, topic)
    if as_json:
        emit_json({**_header(knowledge), **result})
        return 0
    out = console()
    for section in result["sections"]:
        rows = [(i.get("id", ""), _short(i), _sources(i), _flag(i)) for i in section["items"]]
        out.print(
            table(f"{section['title']} ({len(rows)})", ("id", "says", "sources", "status"), rows)
        )
    for c in result["conflicts"]:
        out.print(
            f"[bold yellow]Conflict {c['id']}[/bold yellow]: {c['claim']} -> {c['default']['says']}"
        )
    out.print(f"knowledge {knowledge.fingerprint}")
    return 0

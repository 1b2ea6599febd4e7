#!/bin/sh
# Makes release-0004.sqlite: a record written by the b12 release whose head revision is 0004
# (naive wall-clock times in the clinic's zone, decimals as text, the plan as JSON), for the test
# that upgrades it (tests/record/test_upgrade_0005.py). Run with that release's `b12` on the PATH
# or as B12=...; the record is made in Europe/Paris time, so the winter (+01:00) and summer
# (+02:00) offsets both occur.
set -eu
B12=${B12:-b12}
OUT=${1:-release-0004.sqlite}
rm -f "$OUT" "$OUT-wal" "$OUT-shm"
export B12_TIMEZONE=Europe/Paris B12_USER=nurse.a
DB="--db sqlite:///$OUT"
PRODUCT=cyanocobalamin-us-1000mcg-ml-10ml-vial
j() { "$B12" "$@" $DB --json; }
id_of() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

"$B12" db upgrade $DB

# P-0001: pernicious anaemia; a prescription replaced by another product; doses, a miss, a
# corrected site, results (one corrected), an adverse event.
j patient add P-0001 --age-years 62 --sex female --condition "pernicious anaemia" --at 2026-03-01T09:00 >/dev/null
j prescribe P-0001 --indication pernicious-anaemia --start 2026-03-02 --product $PRODUCT --at 2026-03-01T09:05 >/dev/null
j give P-0001 --lot C4471 --expiry 2027-09-30 --site "left deltoid" --at 2026-03-02T10:00 >/dev/null
A2=$(j give P-0001 --lot C4471 --expiry 2027-09-30 --site "left deltoid" --at 2026-03-04T10:30 | id_of 'd["administration"]["id"]')
j correct administration P-0001 "$A2" site="right deltoid" --reason "side misrecorded" >/dev/null
j missed P-0001 --reason "in hospital" --at 2026-03-06T09:00 >/dev/null
j give P-0001 --lot C4471 --expiry 2027-09-30 --at 2026-03-09T08:15 >/dev/null
L1=$(j lab add P-0001 reticulocytes=1.1% hb=9.1g/dL b12=150pg/mL --at 2026-03-01 | id_of 'd["results"][1]["id"]')
j correct lab P-0001 "$L1" reading=hb=9.3g/dL --reason "transcription error" >/dev/null
j lab add P-0001 reticulocytes=4.6% hb=10.4g/dL k=3.4mmol/L --at 2026-03-11 >/dev/null
j event add P-0001 --description "redness at the site" --severity mild --at 2026-03-09T18:00 >/dev/null
j prescribe P-0001 --indication pernicious-anaemia --start 2026-04-01 --product cyanocobalamin-500mcg-ml-ampoule --at 2026-03-31T11:00 >/dev/null
j give P-0001 --lot A77 --expiry 2027-01-31 --at 2026-04-01T09:45 >/dev/null

# P-0002: a strength instead of a product; a dose typed; a refused dose; a summer time.
j patient add P-0002 --age-years 35 --sex male --weight-kg 81.5 --at 2026-06-01T14:00 >/dev/null
j prescribe P-0002 --indication b12-deficiency --start 2026-06-02 --concentration 1000mcg/mL --at 2026-06-01T14:10 >/dev/null
j give P-0002 --dose 0.03mg --lot X-1 --expiry 2027-12-31 --at 2026-06-02T16:20 >/dev/null
j missed P-0002 --refused --reason "patient declined today" --at 2026-06-04T10:00 >/dev/null
j lab add P-0002 b12=98pmol/L folate=2.1ng/mL --at 2026-06-02 >/dev/null

# P-0003: a profile corrected; a time written with its own offset (kept as wall clock by 0004).
j patient add P-0003 --age-months 8 --sex female --at 2026-05-01T08:00+00:00 >/dev/null
j patient add P-0003 --correct --age-months 9 --sex female --weight-kg 8.2 --at 2026-05-02T08:30 >/dev/null

# P-0004: prescribed then stopped.
j patient add P-0004 --age-years 80 --sex male --medication metformin --at 2026-10-20T10:00 >/dev/null
j prescribe P-0004 --indication pernicious-anaemia --start 2026-10-21 --product $PRODUCT --at 2026-10-20T10:05 >/dev/null
j give P-0004 --lot C9 --expiry 2027-09-30 --at 2026-10-21T09:00 >/dev/null
j prescribe P-0004 --stop --reason "switched to oral treatment" --at 2026-10-26T09:00 >/dev/null

"$B12" audit-log verify $DB

# What this release answers, for the upgrade test to compare: status and due on a few days.
{
  echo '{"status": {'
  sep=""
  for p in P-0001 P-0002 P-0003 P-0004; do
    for d in 2026-03-05 2026-03-12 2026-04-20 2026-06-05 2026-11-30; do
      printf '%s"%s %s": ' "$sep" "$p" "$d"
      "$B12" status "$p" --at "$d" $DB --json || true
      sep=","
    done
  done
  echo '}, "due": {'
  sep=""
  for d in 2026-03-05 2026-03-12 2026-04-20 2026-06-05 2026-11-30; do
    printf '%s"%s": ' "$sep" "$d"
    "$B12" due --date "$d" $DB --json || true
    sep=","
  done
  echo '}}'
} > "${OUT%.sqlite}.answers.json"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "${OUT%.sqlite}.answers.json"

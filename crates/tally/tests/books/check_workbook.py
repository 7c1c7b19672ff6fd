"""Opens Tally's report workbook with openpyxl (not Tally's reader) and checks it
against the JSON report: one sheet per table, headings, numbers stored as numbers
with a currency format, dates as dates, and every sum equal to the JSON's.

usage: check_workbook.py REPORT.xlsx REPORT.json"""

import datetime
import json
import sys
from decimal import Decimal

import openpyxl

book = openpyxl.load_workbook(sys.argv[1])
report = json.load(open(sys.argv[2]))


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


want = ["Billed by customer", "Billed by plan", "Billed by meter", "Collected", "Outstanding", "Aging",
        "Credit notes", "Exchange rates", "Summary"]
if book.sheetnames != want:
    fail(f"sheets {book.sheetnames}")


def table(name):
    sheet = book[name]
    values = list(sheet.iter_rows(values_only=False))
    head = [c.value for c in values[0]]
    return head, values[1:]


def money_sum(name, column, key, field):
    head, rows = table(name)
    at = head.index(column)
    cells = [r[at] for r in rows]
    for c in cells:
        if not isinstance(c.value, (int, float)):
            fail(f"{name}.{column}: {c.value!r} is not a number")
        if '"' not in c.number_format:
            fail(f"{name}.{column}: format {c.number_format!r} names no currency")
    got = {}
    for r, c in zip(rows, cells):
        got.setdefault(r[head.index(key)].value, Decimal(0))
        got[r[head.index(key)].value] += Decimal(str(c.value))
    return got


# Billed by customer: each total equals the JSON's.
head, rows = table("Billed by customer")
for row, j in zip(rows, report["billed_by_customer"]):
    total = row[head.index("Total")]
    if Decimal(str(total.value)) != Decimal(j["total"]):
        fail(f"billed_by_customer {j['customer']}: {total.value} != {j['total']}")
    if f'"{j["currency"]}"' not in total.number_format:
        fail(f"billed_by_customer {j['customer']}: format {total.number_format}")
    rep = row[len(head) - 1].value
    if Decimal(str(rep)) != Decimal(j["reporting_total"]):
        fail(f"billed_by_customer {j['customer']} reporting: {rep} != {j['reporting_total']}")
    if not isinstance(row[head.index("Invoices")].value, int):
        fail("invoices count is not a number")
print(f"ok Billed by customer: {len(rows)} rows equal to the JSON")

# Dates are dates.
head, rows = table("Outstanding")
for row, j in zip(rows, report["outstanding"]):
    for col, key in [("Issued", "issued"), ("Due", "due")]:
        v = row[head.index(col)].value
        if not isinstance(v, datetime.datetime) or v.date().isoformat() != j[key]:
            fail(f"outstanding {j['number']}.{col}: {v!r} is not the date {j[key]}")
    if Decimal(str(row[head.index("Owed")].value)) != Decimal(j["owed"]):
        fail(f"outstanding {j['number']}: owed")
print(f"ok Outstanding: {len(rows)} rows, dates as dates")

for sheet, key in [("Billed by plan", "billed_by_plan"), ("Billed by meter", "billed_by_meter")]:
    head, rows = table(sheet)
    s = sum(Decimal(str(r[head.index("Amount before tax")].value)) for r in rows)
    j = sum(Decimal(x["amount"]) for x in report[key])
    if s != j:
        fail(f"{sheet}: {s} != {j}")
    rep = sum(Decimal(str(r[len(head) - 1].value)) for r in rows)
    if rep != sum(Decimal(x["reporting_amount"]) for x in report[key]):
        fail(f"{sheet}: reporting sum")
print("ok Billed by plan and by meter: sums equal the JSON")

head, rows = table("Exchange rates")
if len(rows) != len(report["rates"]):
    fail("rates: rows")
for row, j in zip(rows, report["rates"]):
    if Decimal(str(row[head.index("Rate")].value)) != Decimal(j["rate"]):
        fail(f"rates: {row[head.index('Rate')].value} != {j['rate']}")
    if not isinstance(row[head.index("Rate day")].value, datetime.datetime):
        fail("rates: the day is not a date")
print(f"ok Exchange rates: {len(rows)} rates")

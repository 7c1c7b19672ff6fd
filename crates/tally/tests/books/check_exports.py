"""Reads Tally's accounting import files with Python's own csv and json modules and
checks them against the vendors' rules and against Tally's totals.

usage: check_exports.py DIR TOTALS_JSON
TOTALS_JSON maps each document number to {"total": "...", "currency": "...",
"credit_note": bool}. Prints one line per check passed; exits non-zero on the first
failure, naming it."""

import csv
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

root = Path(sys.argv[1])
docs = json.loads(Path(sys.argv[2]).read_text())


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def rows(name, header):
    with open(root / name, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        got = next(reader)
        if got != header:
            fail(f"{name}: header {got} is not {header}")
        return [dict(zip(header, r)) for r in reader]


def by_number(rows, key):
    out = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def check_date(name, value, pattern):
    if not re.fullmatch(pattern, value):
        fail(f"{name}: date {value!r} is not {pattern}")


def check_sums(name, groups, amount, want_credit, sign):
    for number, lines in groups.items():
        doc = docs.get(number)
        if doc is None:
            fail(f"{name}: {number} is not a Tally document")
        if doc["credit_note"] != want_credit:
            fail(f"{name}: {number} is in the wrong file")
        total = sum(amount(r) for r in lines)
        if sign * total != Decimal(doc["total"]):
            fail(f"{name}: {number} sums to {total}, Tally's total is {doc['total']}")
    print(f"ok {name}: {len(groups)} documents, each summing to its Tally total")


def qty_unit(r, q, u):
    return Decimal(r[q]) * Decimal(r[u])


xero_inv = ["*ContactName", "EmailAddress", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
            "InventoryItemCode", "*Description", "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType",
            "TaxAmount", "Currency"]
xero_cn = ["*ContactName", "EmailAddress", "*CreditNoteNumber", "Reference", "*CreditNoteDate", "*Description",
           "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "TaxAmount", "Currency"]
inv = rows("xero-invoices.csv", xero_inv)
for r in inv:
    check_date("xero", r["*InvoiceDate"], r"\d\d/\d\d/\d{4}")
    check_date("xero", r["*DueDate"], r"\d\d/\d\d/\d{4}")
    for col in ["*ContactName", "*InvoiceNumber", "*Description", "*AccountCode", "*TaxType"]:
        if not r[col]:
            fail(f"xero: required {col} empty in {r}")
xero_amount = lambda r: qty_unit(r, "*Quantity", "*UnitAmount") + Decimal(r["TaxAmount"] or "0")
check_sums("xero-invoices.csv", by_number(inv, "*InvoiceNumber"), xero_amount, False, 1)
cn = rows("xero-credit-notes.csv", xero_cn)
if any(qty_unit(r, "*Quantity", "*UnitAmount") < 0 for r in cn):
    fail("xero credit notes: a negative amount (Xero wants them positive)")
check_sums("xero-credit-notes.csv", by_number(cn, "*CreditNoteNumber"), xero_amount, True, -1)

qb = ["Invoice number", "Customer", "Invoice date", "Due date", "Terms", "Service Date", "Item (Product/Service)",
      "Item Description", "Item Quantity", "Item Rate", "Item Amount", "Item tax code", "Memo"]
q = rows("quickbooks-invoices.csv", qb)
for r in q:
    check_date("quickbooks", r["Invoice date"], r"\d\d/\d\d/\d{4}")
    if qty_unit(r, "Item Quantity", "Item Rate") != Decimal(r["Item Amount"]):
        fail(f"quickbooks: quantity x rate is not the amount in {r}")
groups = by_number(q, "Invoice number")
if len(groups) > 100:
    fail("quickbooks: more than 100 invoices in one file")
for number, lines in groups.items():
    first = lines[0]
    for r in lines:
        for col in ["Customer", "Invoice date", "Due date", "Terms"]:
            if r[col] != first[col]:
                fail(f"quickbooks: {number}'s {col} differs between its rows")
subtotal = lambda r: Decimal(r["Item Amount"])
for number, lines in groups.items():
    doc = docs[number]
    if sum(subtotal(r) for r in lines) != Decimal(doc["subtotal"]):
        fail(f"quickbooks: {number} lines sum to {sum(subtotal(r) for r in lines)}, subtotal {doc['subtotal']}")
if any(docs[n]["credit_note"] for n in groups):
    fail("quickbooks: a credit note in the invoice import")
print(f"ok quickbooks-invoices.csv: {len(groups)} invoices, lines summing to each subtotal")

zoho = ["Invoice Number", "Invoice Date", "Invoice Status", "Customer Name", "Payment Terms", "Payment Terms Label",
        "Due Date", "Currency Code", "Exchange Rate", "Account", "Item Name", "Item Desc", "Quantity", "Usage unit",
        "Item Price", "Item Tax", "Item Tax %", "Is Inclusive Tax", "Notes"]
z = rows("zoho-invoices.csv", zoho)
for r in z:
    check_date("zoho", r["Invoice Date"], r"\d{4}-\d\d-\d\d")
for number, lines in by_number(z, "Invoice Number").items():
    if sum(qty_unit(r, "Quantity", "Item Price") for r in lines) != Decimal(docs[number]["subtotal"]):
        fail(f"zoho: {number} does not sum to its subtotal")
    if lines[0]["Currency Code"] != docs[number]["currency"]:
        fail(f"zoho: {number} currency")
print("ok zoho-invoices.csv: each invoice sums to its subtotal")
zcn = ["Credit Note Number", "Credit Note Date", "Customer Name", "Reference#", "Reason", "Currency Code",
       "Exchange Rate", "Account", "Item Name", "Item Desc", "Quantity", "Item Price", "Item Tax", "Item Tax %",
       "Is Inclusive Tax"]
for number, lines in by_number(rows("zoho-credit-notes.csv", zcn), "Credit Note Number").items():
    if -sum(qty_unit(r, "Quantity", "Item Price") for r in lines) != Decimal(docs[number]["subtotal"]):
        fail(f"zoho credit notes: {number} does not sum to minus its subtotal")
print("ok zoho-credit-notes.csv: positive, summing to each subtotal")

bodies = json.loads((root / "freshbooks-invoices.json").read_text())
for b in bodies:
    i = b["invoice"]
    s = sum(Decimal(l["qty"]) * Decimal(l["unit_cost"]["amount"]) for l in i["lines"])
    if s != Decimal(docs[i["invoice_number"]]["subtotal"]):
        fail(f"freshbooks: {i['invoice_number']} sums to {s}")
    if "customerid" not in i or not i["lines"]:
        fail("freshbooks: a body without customerid or lines")
clients = rows("freshbooks-clients.csv", ["Organization", "First Name", "Last Name", "Email", "Street", "Country", "Currency"])
print(f"ok freshbooks: {len(bodies)} invoice bodies, {len(clients)} clients")

for iif in sorted(root.glob("*.iif")):
    lines = iif.read_text(encoding="utf-8").split("\n")
    if lines[0].split("\t")[0] != "!TRNS" or lines[1].split("\t")[0] != "!SPL" or lines[2] != "!ENDTRNS":
        fail(f"{iif.name}: the three header rows")
    heads = {"TRNS": lines[0].split("\t"), "SPL": lines[1].split("\t")}
    for need in ["TRNSTYPE", "DATE", "ACCNT", "AMOUNT"]:
        if need not in heads["TRNS"] or need not in heads["SPL"]:
            fail(f"{iif.name}: no {need} column")
    block, blocks = [], 0
    for line in lines[3:]:
        if not line:
            continue
        cells = line.split("\t")
        kind = cells[0]
        if kind == "ENDTRNS":
            total = sum(Decimal(r["AMOUNT"]) for r in block)
            if total != 0:
                fail(f"{iif.name}: a block sums to {total}: {block}")
            trns = block[0]
            if trns["TRNSTYPE"] in ("INVOICE", "CREDIT MEMO"):
                doc = docs[trns["DOCNUM"]]
                if Decimal(trns["AMOUNT"]) != Decimal(doc["total"]):
                    fail(f"{iif.name}: {trns['DOCNUM']} posts {trns['AMOUNT']} to receivables, total {doc['total']}")
                if (trns["TRNSTYPE"] == "CREDIT MEMO") != doc["credit_note"]:
                    fail(f"{iif.name}: {trns['DOCNUM']} has the wrong type")
            block, blocks = [], blocks + 1
            continue
        row = dict(zip(heads[kind], cells))
        if len(cells) != len(heads[kind]):
            fail(f"{iif.name}: {len(cells)} cells under {len(heads[kind])} headings: {line!r}")
        check_date(iif.name, row["DATE"], r"\d\d/\d\d/\d{4}")
        block.append(row)
    print(f"ok {iif.name}: {blocks} blocks, each summing to zero")

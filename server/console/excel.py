"""Excel (.xlsx) copies of the CSVs the console downloads: clerks open and total them in Excel.

The server's CSV is the record; the workbook is the same rows, with whole numbers written as
numbers (so Excel sums them without 「数値に変換」) and the header row bold and frozen.
"""

from __future__ import annotations

import csv
import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font

_INTEGER = re.compile(r"-?[0-9]+")


def _cell(text: str) -> int | str:
    # Whole numbers only: codes with leading zeros (口座番号, 依頼人コード) stay text.
    if _INTEGER.fullmatch(text) and (text.lstrip("-") == "0" or not text.lstrip("-").startswith("0")):
        return int(text)
    return text


def csv_to_xlsx(data: bytes, title: str) -> bytes:
    """The workbook of a UTF-8 (BOM) CSV: one sheet named ``title``, numbers as numbers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = title[:31]  # Excel's limit for a sheet name
    for index, row in enumerate(csv.reader(io.StringIO(data.decode("utf-8-sig")))):
        sheet.append([_cell(value) if index else value for value in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

"""Reading the invoice PDFs back in tests: their text (pypdf) and page 1 as a PNG (pypdfium2)."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pypdfium2


def pdf_pages(pdf: bytes) -> list[str]:
    """The extracted text of each page."""
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    return "\n".join(pdf_pages(pdf))


def first_page_png(pdf: bytes, out: Path, scale: float = 1.5) -> Path:
    """Page 1 rendered to ``out`` (a PNG), to keep as a test artifact and look at."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=scale).to_pil()
        out.parent.mkdir(parents=True, exist_ok=True)
        image.save(out, format="PNG")
    finally:
        doc.close()
    return out

"""CSV files as a :class:`~adapters.base.Source`: streaming, with encoding and dialect detection.

One pass over the bytes first computes the file's sha256 (every position names it) and, when the encoding is
``auto``, decides it over the *whole* file, not a prefix: a UTF-8 BOM means ``utf-8-sig``, bytes that decode
as UTF-8 mean ``utf-8``, anything else is read as ISO-8859-1 (which decodes every byte; Windows-1252 exports
differ only in 0x80-0x9F, which a mapping can name explicitly). A second pass parses with :mod:`csv` on a text
stream opened with ``newline=""``, so quoted fields may hold delimiters and CR/LF line breaks, and
``reader.line_num`` gives every record's physical first and last line. Memory stays flat: one row at a time.

The delimiter is configured (``;``, ``,``, tab, ...) or sniffed from the header line among ``;``, ``,``, tab
and ``|``. The header row gives field names (stripped; a BOM left by a mislabelled encoding too), ``rename``
maps them to the names a mapping uses, and ``header: false`` with ``columns`` names headerless files. Rows with
more cells than the header are rejected with their line; shorter rows leave the missing fields absent; empty
lines are skipped.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aas_server.errors import SourceUnavailableError

from ..base import CHUNK, Item, Position, Record, Reject, file_time

logger = logging.getLogger(__name__)

#: delimiters the sniffer chooses from
DELIMITERS = ";,\t|"
#: largest field the reader accepts (a quote left open would otherwise swallow the file)
FIELD_LIMIT = 1 << 20


class CsvSource:
    """A CSV file.

    :param path: the file
    :param encoding: a Python codec name, or ``auto``
    :param delimiter: one character, or ``auto``
    :param quote: the quote character
    :param header: whether the first (non-skipped) line names the fields
    :param columns: field names of a file without header
    :param rename: header name -> field name
    :param skip_lines: lines before the header (report banners)
    :param adapter: the adapter name recorded in lineage
    """

    adapter = "csv"

    def __init__(self, path: str | Path, *, encoding: str = "auto", delimiter: str = "auto", quote: str = '"',
                 header: bool = True, columns: Sequence[str] | None = None, rename: Mapping[str, str] | None = None,
                 skip_lines: int = 0, adapter: str | None = None) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.encoding = encoding
        self.delimiter = delimiter
        self.quote = quote
        self.header = header
        self.columns = list(columns or [])
        self.rename = dict(rename or {})
        self.skip_lines = skip_lines
        if adapter:
            self.adapter = adapter
        self._checksum: str | None = None
        self._detected: str | None = None

    @classmethod
    def from_options(cls, path: str | Path, options: Mapping[str, Any], adapter: str = "csv") -> CsvSource:
        """A source configured by a mapping's ``source`` block (validated by the mapping)."""
        return cls(path, adapter=adapter, **{k: v for k, v in options.items()})

    # -- first pass: checksum and encoding ------------------------------------------------------------------

    def checksum(self) -> str:
        if self._checksum is None:
            self._scan()
        assert self._checksum is not None
        return self._checksum

    @property
    def detected_encoding(self) -> str:
        """The encoding the file is read with."""
        if self._detected is None:
            self._scan()
        assert self._detected is not None
        return self._detected

    def _scan(self) -> None:
        import hashlib

        digest = hashlib.sha256()
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8 = True
        head = b""
        try:
            with open(self.path, "rb") as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    digest.update(chunk)
                    if not head:
                        head = chunk[:3]
                    if utf8 and self.encoding == "auto":
                        try:
                            decoder.decode(chunk)
                        except UnicodeDecodeError:
                            utf8 = False
                if utf8 and self.encoding == "auto":
                    decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
        except OSError as e:
            raise SourceUnavailableError(f"cannot read {self.file}: {e.strerror}", path=self.file) from e
        self._checksum = "sha256:" + digest.hexdigest()
        if self.encoding != "auto":
            configured = codecs.lookup(self.encoding).name
            self._detected = "utf-8-sig" if configured == "utf-8" and head.startswith(codecs.BOM_UTF8) else configured
        elif head.startswith(codecs.BOM_UTF8):
            self._detected = "utf-8-sig"
        else:
            self._detected = "utf-8" if utf8 else "iso8859-1"

    # -- second pass: records -------------------------------------------------------------------------------

    def read(self) -> Iterator[Item]:
        checksum = self.checksum()
        try:
            stream = open(self.path, encoding=self.detected_encoding, newline="", errors="strict")
        except OSError as e:
            raise SourceUnavailableError(f"cannot read {self.file}: {e.strerror}", path=self.file) from e
        source_time = file_time(self.path)
        with stream:
            for _ in range(self.skip_lines):
                stream.readline()
            delimiter = self._delimiter(stream)
            csv.field_size_limit(FIELD_LIMIT)
            reader = csv.reader(stream, delimiter=delimiter, quotechar=self.quote, doublequote=True, strict=False)
            last_line = self.skip_lines
            names = self.columns
            try:
                if self.header:
                    first = next(reader, None)
                    if first is None:
                        return
                    last_line = self.skip_lines + reader.line_num
                    names = [self.rename.get(n, n) for n in (_clean_name(c) for c in first)]
                    self._check_names(names, last_line)
                for row in reader:
                    start, last_line = last_line + 1, self.skip_lines + reader.line_num
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    position = Position(self.file, checksum, start, last_line if last_line != start else None)
                    if len(row) > len(names):
                        yield Reject(position, f"{len(row)} fields, the header has {len(names)} (a delimiter "
                                               "inside an unquoted field?)")
                        continue
                    yield Record(dict(zip(names, row, strict=False)), position, source_time=source_time)
            except UnicodeDecodeError as e:
                yield Reject(Position(self.file, checksum, last_line + 1),
                             f"not {self.detected_encoding}: {e.reason}; the rest of the file is skipped")
            except csv.Error as e:
                yield Reject(Position(self.file, checksum, last_line + 1),
                             f"malformed CSV: {e}; the rest of the file is skipped")

    def _delimiter(self, stream: io.TextIOBase) -> str:
        if self.delimiter != "auto":
            return self.delimiter
        position = stream.tell()
        sample = stream.readline()
        stream.seek(position)
        counts = {d: sample.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] == 0:
            return ","
        return best

    def _check_names(self, names: list[str], line: int) -> None:
        seen = set()
        for name in names:
            if name and name in seen:
                logger.warning("%s:%d: the header names %r twice; the last column wins", self.file, line, name)
            seen.add(name)


def _clean_name(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip()

"""Full-text search with one interface over two engines: PostgreSQL tsvector and SQLite FTS5.

PostgreSQL keeps a weighted `tsvector` in a generated column under a GIN index and ranks with `ts_rank`
over `websearch_to_tsquery`. SQLite keeps an FTS5 table in step through triggers and ranks with bm25,
after translating the same web-search syntax ("quoted phrases", `or`, `-excluded`) into FTS5's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, Subquery, Table, func, literal_column, select, text

from movies_async_api.models import Film, Person

# ts_rank's default weights for D, C, B and A; bm25 gets the same ones, so both engines weigh alike.
WEIGHTS = {"D": 0.1, "C": 0.2, "B": 0.4, "A": 1.0}
MAX_QUERY_LENGTH = 200

_SQLITE_TOKENIZERS = {"english": "porter unicode61 remove_diacritics 2", "simple": "unicode61 remove_diacritics 2"}
_CLAUSE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
# Dashes before anything but a letter, a digit or a quote (PostgreSQL's parser splits words at `_`).
_DANGLING_DASHES = re.compile(r'-+(?![^\W_]|")')
_DASH_RUN = re.compile(r"-{2,}")


@dataclass(frozen=True)
class SearchIndex:
    """The searchable text columns of one table, each with its weight letter (A weighs most)."""

    table: Table
    columns: tuple[tuple[str, str], ...]
    language: str

    @property
    def name(self) -> str:
        """The FTS5 table (SQLite) or the tsvector column's index (PostgreSQL)."""
        return f"{self.table.name}_search"

    def ddl(self, dialect: str) -> list[str]:
        """Statements that create the index and keep it in step with the table; each may run again."""
        return self._postgresql_ddl() if dialect == "postgresql" else self._sqlite_ddl()

    def matches(self, dialect: str, query: str) -> Subquery | None:
        """`(id, relevance, in_first)` of the rows matching a web-search query; None when nothing can match.

        `in_first` is true when the first (heaviest) column matches the query on its own, e.g. a film's title.
        """
        matches = self._postgresql_matches(query) if dialect == "postgresql" else self._sqlite_matches(query)
        return None if matches is None else matches.subquery()

    def _postgresql_ddl(self) -> list[str]:
        vector = " || ".join(
            f"setweight(to_tsvector('{self.language}', coalesce({column}, '')), '{weight}')"
            for column, weight in self.columns
        )
        table = self.table.name
        return [
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_vector tsvector "
            f"GENERATED ALWAYS AS ({vector}) STORED",
            f"CREATE INDEX IF NOT EXISTS ix_{self.name} ON {table} USING gin (search_vector)",
        ]

    def _sqlite_ddl(self) -> list[str]:
        # Only our own table and column names go into this SQL; no input reaches it.
        table, fts = self.table.name, self.name
        names = [column for column, _ in self.columns]
        values = ", ".join(f"coalesce(new.{column}, '')" for column in names)
        insert = f"INSERT INTO {fts} (row_id, {', '.join(names)}) VALUES (new.id, {values});"  # noqa: S608
        delete = f"DELETE FROM {fts} WHERE row_id = old.id;"  # noqa: S608
        return [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(row_id UNINDEXED, {', '.join(names)}, "
            f"tokenize='{_SQLITE_TOKENIZERS[self.language]}')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {', '.join(names)} ON {table} "
            f"BEGIN {delete} {insert} END",
        ]

    def _postgresql_matches(self, query: str) -> Select:
        vector = literal_column(f"{self.table.name}.search_vector")
        tsquery = func.websearch_to_tsquery(literal_column(f"'{self.language}'::regconfig"), websearch_query(query))
        relevance = func.ts_rank(vector, tsquery)
        first_weight = literal_column(f"'{{{self.columns[0][1].lower()}}}'::\"char\"[]")
        in_first = func.ts_filter(vector, first_weight).op("@@")(tsquery)
        return select(self.table.c.id.label("id"), relevance.label("relevance"), in_first.label("in_first")).where(
            vector.op("@@")(tsquery)
        )

    def _sqlite_matches(self, query: str) -> Select | None:
        expression = fts5_query(query)
        if expression is None:
            return None
        weights = ", ".join(str(WEIGHTS[weight]) for _, weight in self.columns)
        # bm25 is lower for better matches; negated, it orders like ts_rank. row_id is unindexed: weight 0.
        relevance: ColumnElement = -literal_column(f"bm25({self.name}, 0.0, {weights})")
        row_id = literal_column(f"{self.name}.row_id")
        in_first = row_id.in_(
            select(row_id)
            .select_from(text(self.name))
            .where(literal_column(self.name).op("MATCH")(f"{{{self.columns[0][0]}}} : ({expression})"))
        )
        return (
            select(row_id.label("id"), relevance.label("relevance"), in_first.label("in_first"))
            .select_from(text(self.name))
            .where(literal_column(self.name).op("MATCH")(expression))
        )


FILMS = SearchIndex(Film.__table__, (("title", "A"), ("description", "B")), "english")
PERSONS = SearchIndex(Person.__table__, (("full_name", "A"),), "simple")
INDEXES = (FILMS, PERSONS)


def websearch_query(query: str) -> str:
    """The query with every `-` that negates no term dropped, and runs of them made one.

    websearch_to_tsquery stacks one NOT per `-`, term or not, and fails ("tsquery stack too small") past 32
    in a row. A `-` excludes the word or "phrase" right after it; anywhere else it was only ever noise.
    """
    return _DASH_RUN.sub("-", _DANGLING_DASHES.sub(" ", query))


def fts5_query(query: str) -> str | None:
    """Translate web-search syntax into an FTS5 expression; None when the query has no word to look for.

    Words are ANDed, `or` between two terms makes them alternatives, "quotes" make a phrase, and a leading
    `-` excludes a term. Every term is quoted, so nothing a user types is read as FTS5 syntax.
    """
    groups: list[list[str]] = []
    excluded: list[str] = []
    joined_by_or = False
    for match in _CLAUSE.finditer(query):
        dash, phrase, bare = match.groups()
        if bare is not None and bare.lower() == "or":
            joined_by_or = bool(groups)
            continue
        if bare is not None:
            dash, phrase = ("-", bare[1:]) if bare.startswith("-") else ("", bare)
        words = _WORD.findall(phrase)
        if not words:
            continue
        term = '"' + " ".join(words) + '"'
        if dash:
            excluded.append(term)
        elif joined_by_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        joined_by_or = False
    if not groups:
        return None
    expression = " AND ".join("(" + " OR ".join(group) + ")" for group in groups)
    if excluded:
        expression = f"({expression}) NOT ({' OR '.join(excluded)})"
    return expression

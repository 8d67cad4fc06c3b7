"""The catalogue's tables: films, genres, persons, and the links between them."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import CheckConstraint, Enum, Float, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the catalogue."""


class Role(enum.StrEnum):
    """What a person did in a film."""

    ACTOR = "actor"
    WRITER = "writer"
    DIRECTOR = "director"


class Film(Base):
    __tablename__ = "films"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    imdb_rating: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (CheckConstraint("imdb_rating BETWEEN 0 AND 10", name="ck_films_imdb_rating"),)


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(300))


class FilmGenre(Base):
    __tablename__ = "film_genres"

    film_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("films.id", ondelete="CASCADE"), primary_key=True)
    genre_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True)

    # The genre filter walks from a genre to its films.
    __table_args__ = (Index("ix_film_genres_genre", "genre_id", "film_id"),)


class FilmPerson(Base):
    __tablename__ = "film_persons"

    film_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("films.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="person_role", native_enum=False, values_callable=lambda roles: [r.value for r in roles]),
        primary_key=True,
    )

    # A person's films are read from the person's side.
    __table_args__ = (Index("ix_film_persons_person", "person_id", "film_id"),)


# One index per sort the API offers; the id makes every order total, so pages never overlap.
Index("ix_films_imdb_rating", Film.imdb_rating, Film.id)
Index("ix_films_title", func.lower(Film.title), Film.id)
# PostgreSQL can scan an index backwards but keeps its NULLs first; the best-rated-first order needs its own.
# SQLite sorts NULLs first ascending, so scanning the index above backwards already gives this order.
Index("ix_films_imdb_rating_desc", Film.imdb_rating.desc().nulls_last(), Film.id.desc()).ddl_if(dialect="postgresql")

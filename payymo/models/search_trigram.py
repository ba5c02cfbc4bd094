"""SearchTrigram: a trigram common in a searched column, from a sample of its rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, UTCDateTime


class SearchTrigram(Base):
    """A trigram in at least ``search_indexes.COMMON_SHARE`` of a column's sampled values.

    Every tenant's rows are sampled together, as the trigram index holds them together;
    only the trigram and its share are kept, never a row. A search leaves these trigrams
    out of its index look-up and checks them on the rows it finds (``services.search``).
    """

    __tablename__ = "search_trigrams"

    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    column_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    trigram: Mapped[str] = mapped_column(String(16), primary_key=True)
    share: Mapped[float] = mapped_column(Float)
    sampled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

"""Records an organisation refers to by name: finding one, and refusing a name in use.

Assets, suppliers and AI systems are all named uniquely within an organisation and looked
up the same way; the messages differ only in what the record is called and which command
lists or changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from annexa.errors import Conflict, NotFound

Record = TypeVar("Record")


@dataclass(frozen=True)
class NamedKind:
    """How to talk about one kind of named record in errors."""

    model: Any
    noun: str  # "asset"
    with_article: str  # "an asset"
    list_fix: str  # how to find or create one
    update_command: str  # how to rename one

    def find(
        self, session: Session, org_id: int, name: str, query: Select[Any] | None = None
    ) -> Any:
        statement = select(self.model) if query is None else query
        return session.scalar(
            statement.where(self.model.org_id == org_id, self.model.name == name.strip())
        )

    def require(self, found: Record | None, name: str, field: str) -> Record:
        if found is None:
            raise NotFound(f"no {self.noun} called {name!r}", field=field, fix=self.list_fix)
        return found

    def ensure_free(self, session: Session, org_id: int, name: str, field: str) -> None:
        clash = session.scalar(
            select(self.model.id).where(self.model.org_id == org_id, self.model.name == name)
        )
        if clash is not None:
            raise Conflict(
                f"{self.with_article} called {name!r} already exists",
                field=field,
                fix=f"choose another name, or change it with `{self.update_command}`",
            )

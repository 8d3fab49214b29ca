"""The ORM classes of an ISMS's records, each mapping one table of :mod:`annexa.store.tables`.

The columns are defined there, once (the classes get an attribute per column); here are
the relationships between records and what loads when. Reports that only read use the
tables directly and never import this module (see :mod:`annexa.store.tables`).
"""

# No ``from __future__ import annotations`` here: with evaluated annotations SQLAlchemy need
# not evaluate the relationship annotations as strings at start-up. Classes defined further
# down are quoted where they are named.
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, relationship

from annexa.store import tables
from annexa.store.tables import utcnow

__all__ = ["Base", "utcnow"]  # with the classes below


class Base(DeclarativeBase):
    metadata = tables.metadata


class Organisation(Base):
    __table__ = tables.organisation


# --- Context and scope (clauses 4.1-4.3) -------------------------------------------


class ScopeItem(Base):
    __table__ = tables.scope_item


class ContextIssue(Base):
    __table__ = tables.context_issue


class InterestedParty(Base):
    __table__ = tables.interested_party


# --- Suppliers, assets and AI systems -----------------------------------------------


class Supplier(Base):
    __table__ = tables.supplier


class Asset(Base):
    __table__ = tables.asset

    supplier: Mapped[Supplier | None] = relationship()


class AISystem(Base):
    __table__ = tables.ai_system

    supplier: Mapped[Supplier | None] = relationship()
    assets: Mapped[list[Asset]] = relationship(secondary=tables.ai_system_asset)


class AISystemAsset(Base):
    __table__ = tables.ai_system_asset


# --- Risk management (6.1.2, 6.1.3, 8.2, 8.3) ---------------------------------------


class Risk(Base):
    __table__ = tables.risk

    # Rendered by database triggers for listings; loading a risk never needs it.
    listing = deferred(tables.risk.c.listing)

    assets: Mapped[list[Asset]] = relationship(secondary=tables.risk_asset)
    controls: Mapped[list["RiskControl"]] = relationship(
        back_populates="risk", cascade="all, delete-orphan"
    )
    acceptances: Mapped[list["RiskAcceptance"]] = relationship(
        back_populates="risk", cascade="all, delete-orphan", order_by="RiskAcceptance.id"
    )


class RiskAsset(Base):
    __table__ = tables.risk_asset


class RiskControl(Base):
    __table__ = tables.risk_control

    risk: Mapped[Risk] = relationship(back_populates="controls")


class RiskAcceptance(Base):
    __table__ = tables.risk_acceptance

    risk: Mapped[Risk] = relationship(back_populates="acceptances")


# --- Statement of Applicability (6.1.3 d) -------------------------------------------


class SoaEntry(Base):
    __table__ = tables.soa_entry


class SoaVersion(Base):
    __table__ = tables.soa_version


# --- Custom catalogs ------------------------------------------------------------------


class CustomFramework(Base):
    __table__ = tables.custom_framework


# --- Audit log (append-only; see docs/audit-log.md) -----------------------------------


class AuditEvent(Base):
    __table__ = tables.audit_event


class AuditNode(Base):
    __table__ = tables.audit_node


class AuditHead(Base):
    __table__ = tables.audit_head


class AuditCheckpoint(Base):
    __table__ = tables.audit_checkpoint


# --- Accounts (people, their roles per organisation, API tokens) ----------------------


class User(Base):
    __table__ = tables.app_user

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Membership(Base):
    __table__ = tables.membership

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()


class ApiToken(Base):
    __table__ = tables.api_token

    user: Mapped[User] = relationship()


class WebSession(Base):
    __table__ = tables.web_session

    user: Mapped[User] = relationship()


class OidcProvider(Base):
    __table__ = tables.oidc_provider

    organisation: Mapped[Organisation] = relationship()


class UserIdentity(Base):
    __table__ = tables.user_identity

    user: Mapped[User] = relationship()


# --- Guard vault (reversible pseudonymisation; see docs/guard.md) ---------------------


class GuardVaultEntry(Base):
    __table__ = tables.guard_vault_entry


class GuardVaultCounter(Base):
    __table__ = tables.guard_vault_counter

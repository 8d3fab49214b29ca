"""The relational model of an ISMS. Every row except an organisation belongs to one.

Catalog content (frameworks, requirements, mappings) lives in YAML data files; records
refer to requirements by ``(framework, ref)`` so catalogs can be upgraded without
rewriting rows.
"""

# No ``from __future__ import annotations`` here: with evaluated annotations SQLAlchemy need
# not evaluate some 480 strings at every start-up (~40 M instructions, about a tenth of
# building the models). Classes defined further down are quoted where they are named.
import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class JsonDocument(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL.

    The PostgreSQL dialect is imported only when a PostgreSQL engine uses the column: a
    SQLite command then never loads it (with asyncio and the asyncpg driver code), which
    is a tenth of start-up.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


Json = JsonDocument()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


def org_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)


class Organisation(Timestamped, Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sector: Mapped[str | None] = mapped_column(String(100))
    headcount: Mapped[int | None] = mapped_column(Integer)
    scope_statement: Mapped[str | None] = mapped_column(Text)
    # Configurable per organisation; None means the built-in default.
    risk_matrix: Mapped[dict[str, Any] | None] = mapped_column(Json)
    classification_scheme: Mapped[dict[str, Any] | None] = mapped_column(Json)


# --- Context and scope (clauses 4.1-4.3) -------------------------------------------


class ScopeItem(Timestamped, Base):
    __tablename__ = "scope_item"
    __table_args__ = (UniqueConstraint("org_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    kind: Mapped[str] = mapped_column(String(32))  # service, location, data_flow, ai_feature, ...
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    in_scope: Mapped[bool] = mapped_column(Boolean, default=True)
    exclusion_reason: Mapped[str | None] = mapped_column(Text)


class ContextIssue(Timestamped, Base):
    __tablename__ = "context_issue"
    __table_args__ = (UniqueConstraint("org_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    kind: Mapped[str] = mapped_column(String(16))  # internal | external
    category: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


class InterestedParty(Timestamped, Base):
    __tablename__ = "interested_party"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))
    requirements: Mapped[str | None] = mapped_column(Text)
    addressed_in_isms: Mapped[bool] = mapped_column(Boolean, default=True)


# --- Suppliers, assets and AI systems -----------------------------------------------


class Supplier(Timestamped, Base):
    __tablename__ = "supplier"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(Text)
    criticality: Mapped[str] = mapped_column(String(16), default="medium")
    processes_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_provider: Mapped[bool] = mapped_column(Boolean, default=False)
    website: Mapped[str | None] = mapped_column(String(300))
    contact: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)


class Asset(Timestamped, Base):
    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="information")
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    location: Mapped[str | None] = mapped_column(String(200))
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("supplier.id", ondelete="SET NULL"), index=True
    )

    supplier: Mapped[Supplier | None] = relationship()


class AISystem(Timestamped, Base):
    __tablename__ = "ai_system"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="deployer")  # provider | deployer
    data_categories: Mapped[list[str]] = mapped_column(Json, default=list)
    human_oversight: Mapped[str | None] = mapped_column(Text)
    ai_act_risk_class: Mapped[str] = mapped_column(String(16), default="minimal")
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="operation")
    owner: Mapped[str | None] = mapped_column(String(200))
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("supplier.id", ondelete="SET NULL"), index=True
    )

    supplier: Mapped[Supplier | None] = relationship()
    assets: Mapped[list[Asset]] = relationship(secondary="ai_system_asset")


class AISystemAsset(Base):
    __tablename__ = "ai_system_asset"

    ai_system_id: Mapped[int] = mapped_column(
        ForeignKey("ai_system.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# --- Risk management (6.1.2, 6.1.3, 8.2, 8.3) ---------------------------------------


class Risk(Timestamped, Base):
    __tablename__ = "risk"
    __table_args__ = (
        UniqueConstraint("org_id", "ref"),
        UniqueConstraint("org_id", "title"),
        Index("ix_risk_org_residual", "org_id", "residual_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    ref: Mapped[str] = mapped_column(String(32))  # R-0001
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    threat_id: Mapped[str | None] = mapped_column(String(32))  # threat library id
    threat: Mapped[str | None] = mapped_column(Text)
    vulnerability: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    framework: Mapped[str] = mapped_column(String(64), default="iso27001-2022")
    inherent_likelihood: Mapped[int | None] = mapped_column(Integer)
    inherent_impact: Mapped[int | None] = mapped_column(Integer)
    inherent_score: Mapped[int | None] = mapped_column(Integer)
    inherent_level: Mapped[str | None] = mapped_column(String(32))
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    residual_score: Mapped[int | None] = mapped_column(Integer)
    residual_level: Mapped[str | None] = mapped_column(String(32))
    treatment: Mapped[str | None] = mapped_column(String(16))  # modify|retain|avoid|share
    treatment_plan: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="identified")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    review_date: Mapped[dt.date | None] = mapped_column(Date)
    # The risk's register document without its closing brace, written by database
    # triggers (migration 0006) and read by annexa.risk.register_json; never set here.
    listing: Mapped[str | None] = mapped_column(Text, deferred=True)

    assets: Mapped[list[Asset]] = relationship(secondary="risk_asset")
    controls: Mapped[list["RiskControl"]] = relationship(
        back_populates="risk", cascade="all, delete-orphan"
    )
    acceptances: Mapped[list["RiskAcceptance"]] = relationship(
        back_populates="risk", cascade="all, delete-orphan", order_by="RiskAcceptance.id"
    )


class RiskAsset(Base):
    __tablename__ = "risk_asset"

    risk_id: Mapped[int] = mapped_column(
        ForeignKey("risk.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RiskControl(Base):
    """A control chosen in a risk's treatment plan: the link the SoA is built from."""

    __tablename__ = "risk_control"
    __table_args__ = (
        UniqueConstraint("risk_id", "framework", "ref"),
        Index("ix_risk_control_org_ref", "org_id", "framework", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), index=True)
    framework: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(32))

    risk: Mapped[Risk] = relationship(back_populates="controls")


class RiskAcceptance(Base):
    __tablename__ = "risk_acceptance"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"), index=True)
    approver: Mapped[str] = mapped_column(String(200))
    rationale: Mapped[str | None] = mapped_column(Text)
    accepted_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    residual_score: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    risk: Mapped[Risk] = relationship(back_populates="acceptances")


# --- Statement of Applicability (6.1.3 d) -------------------------------------------


class SoaEntry(Base):
    """The current decision for one control of one framework's Annex A."""

    __tablename__ = "soa_entry"
    __table_args__ = (UniqueConstraint("org_id", "framework", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    framework: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(32))
    applicable: Mapped[bool | None] = mapped_column(Boolean)  # None: not yet decided
    reasons: Mapped[list[str]] = mapped_column(Json, default=list)
    justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    owner: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SoaVersion(Base):
    """A published, immutable snapshot of one framework's SoA."""

    __tablename__ = "soa_version"
    __table_args__ = (UniqueConstraint("org_id", "framework", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    framework: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(Json)


# --- Custom catalogs ------------------------------------------------------------------


class CustomFramework(Base):
    """A framework imported by an organisation, stored as its validated document."""

    __tablename__ = "custom_framework"
    __table_args__ = (UniqueConstraint("org_id", "framework_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = org_fk()
    framework_id: Mapped[str] = mapped_column(String(64))
    source_format: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- Audit log (append-only; see docs/audit-log.md) -----------------------------------
# No foreign keys: events outlive what they describe (an organisation's deletion cascades
# to its records, never to their history). Database triggers refuse UPDATE and DELETE.

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: the rowid itself


class AuditEvent(Base):
    """One change, as the canonical bytes that are the Merkle tree's leaf."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    org_id: Mapped[int | None] = mapped_column(Integer, index=True)
    org_slug: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    object_ref: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)


class AuditNode(Base):
    """A perfect subtree root of the Merkle tree: leaves [index·2^level, (index+1)·2^level)."""

    __tablename__ = "audit_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditHead(Base):
    """The single row appenders lock: tree size and the frontier of perfect subtree roots."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditCheckpoint(Base):
    """A signed tree head, as the C2SP signed note text that was issued."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text)


# --- Accounts (people, their roles per organisation, API tokens) ----------------------


class User(Timestamped, Base):
    """A person who signs in. Never holds a plaintext password: only its argon2 hash."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # TOTP second factor (RFC 6238): the base32 secret, when it was confirmed, and the last
    # time step accepted (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Membership(Timestamped, Base):
    """A user's role in one organisation: admin, editor, contributor, auditor or viewer."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = org_fk()
    role: Mapped[str] = mapped_column(String(16))

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()


class ApiToken(Base):
    """A personal API token: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it
    name: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))  # read | write
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A browser sign-in. The cookie holds a random secret; only its SHA-256 is kept.

    ``stage`` is ``password`` while a TOTP code is still owed, ``full`` once signed in.
    """

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    stage: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))  # password | oidc
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class OidcProvider(Timestamped, Base):
    """Single sign-on for one organisation through an OpenID Connect provider."""

    __tablename__ = "oidc_provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), unique=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(300))
    client_secret: Mapped[str | None] = mapped_column(String(500))
    scopes: Mapped[str] = mapped_column(String(300), default="openid email profile")
    # E-mail domains whose users may be created on first sign-in (comma-separated);
    # empty: only users who already exist may sign in.
    allowed_domains: Mapped[str] = mapped_column(String(1000), default="")
    default_role: Mapped[str] = mapped_column(String(16), default="viewer")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    organisation: Mapped[Organisation] = relationship()


class UserIdentity(Base):
    """A user's account at an OIDC issuer (``iss`` + ``sub``), linked at first sign-in."""

    __tablename__ = "user_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship()


# --- Guard vault (reversible pseudonymisation; see docs/guard.md) ---------------------
# Not audited (annexa.audit.log.UNAUDITED_TABLES): entries are short-lived, sealed
# values of prompts and documents, not records of the ISMS.


class GuardVaultEntry(Base):
    """One vaulted value: AES-256-GCM sealed under the organisation's derived key, with
    the placeholder as associated data, found again by a keyed HMAC of the value."""

    __tablename__ = "guard_vault_entry"
    __table_args__ = (
        UniqueConstraint("org_id", "placeholder"),
        UniqueConstraint("org_id", "digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    placeholder: Mapped[str] = mapped_column(String(64))  # <EMAIL_ADDRESS_12>
    entity_type: Mapped[str] = mapped_column(String(64))
    digest: Mapped[bytes] = mapped_column(LargeBinary)  # HMAC-SHA256 of type and value
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # 12-byte nonce ‖ ciphertext ‖ tag
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class GuardVaultCounter(Base):
    """The last placeholder number issued per organisation and entity type: incremented
    in place (an upsert that locks the row), so numbers stay unique across processes."""

    __tablename__ = "guard_vault_counter"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    entity_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)

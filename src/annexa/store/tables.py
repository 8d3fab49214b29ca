"""The tables of an ISMS, in SQLAlchemy Core. Every row except an organisation belongs to one.

Catalog content (frameworks, requirements, mappings) lives in YAML data files; records
refer to requirements by ``(framework, ref)`` so catalogs can be upgraded without
rewriting rows.

The ORM classes of :mod:`annexa.store.models` map these tables. They are kept apart so
that a report read with Core alone (``annexa risk list --json``, ``soa show``, ``status``)
never imports the ORM nor builds its mappings: a sixth of such a command's time.
"""

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


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
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: the rowid itself


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def org_id() -> Column[int]:
    """The owning organisation: deleting it deletes the row."""
    return Column(
        "org_id",
        Integer,
        ForeignKey("organisation.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def user_id() -> Column[int]:
    """The user a row belongs to: deleting the user deletes the row."""
    return Column(
        "user_id",
        Integer,
        ForeignKey("app_user.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def timestamps() -> tuple[Column[dt.datetime], Column[dt.datetime]]:
    return (
        Column("created_at", DateTime, nullable=False, default=utcnow),
        Column("updated_at", DateTime, nullable=False, default=utcnow, onupdate=utcnow),
    )


def asset_links(owner: str) -> Table:
    """Which assets each ``owner`` record (an AI system, a risk) involves; a link goes with
    either end."""
    return Table(
        f"{owner}_asset",
        metadata,
        Column(
            f"{owner}_id", Integer, ForeignKey(f"{owner}.id", ondelete="CASCADE"), primary_key=True
        ),
        Column(
            "asset_id",
            Integer,
            ForeignKey("asset.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
    )


organisation = Table(
    "organisation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("sector", String(100)),
    Column("headcount", Integer),
    Column("scope_statement", Text),
    # Configurable per organisation; None means the built-in default.
    Column("risk_matrix", Json),
    Column("classification_scheme", Json),
    *timestamps(),
)


# --- Context and scope (clauses 4.1-4.3) -------------------------------------------

scope_item = Table(
    "scope_item",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("kind", String(32), nullable=False),  # service, location, data_flow, ai_feature, ...
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("in_scope", Boolean, nullable=False, default=True),
    Column("exclusion_reason", Text),
    *timestamps(),
    UniqueConstraint("org_id", "kind", "name"),
)


context_issue = Table(
    "context_issue",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("kind", String(16), nullable=False),  # internal | external
    Column("category", String(64)),
    Column("title", String(200), nullable=False),
    Column("description", Text),
    *timestamps(),
    UniqueConstraint("org_id", "title"),
)


interested_party = Table(
    "interested_party",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("name", String(200), nullable=False),
    Column("category", String(64)),
    Column("requirements", Text),
    Column("addressed_in_isms", Boolean, nullable=False, default=True),
    *timestamps(),
    UniqueConstraint("org_id", "name"),
)


# --- Suppliers, assets and AI systems -----------------------------------------------

supplier = Table(
    "supplier",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("name", String(200), nullable=False),
    Column("service", Text),
    Column("criticality", String(16), nullable=False, default="medium"),
    Column("processes_personal_data", Boolean, nullable=False, default=False),
    Column("ai_provider", Boolean, nullable=False, default=False),
    Column("website", String(300)),
    Column("contact", String(200)),
    Column("notes", Text),
    *timestamps(),
    UniqueConstraint("org_id", "name"),
)


asset = Table(
    "asset",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False, default="information"),
    Column("description", Text),
    Column("owner", String(200)),
    Column("classification", String(32), nullable=False),
    Column("tags", Json, nullable=False, default=list),
    Column("location", String(200)),
    Column("supplier_id", Integer, ForeignKey("supplier.id", ondelete="SET NULL"), index=True),
    *timestamps(),
    UniqueConstraint("org_id", "name"),
)


ai_system = Table(
    "ai_system",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("name", String(200), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("provider", String(200)),
    Column("model", String(200)),
    Column("role", String(16), nullable=False, default="deployer"),  # provider | deployer
    Column("data_categories", Json, nullable=False, default=list),
    Column("human_oversight", Text),
    Column("ai_act_risk_class", String(16), nullable=False, default="minimal"),
    Column("lifecycle_stage", String(16), nullable=False, default="operation"),
    Column("owner", String(200)),
    Column("supplier_id", Integer, ForeignKey("supplier.id", ondelete="SET NULL"), index=True),
    *timestamps(),
    UniqueConstraint("org_id", "name"),
)


ai_system_asset = asset_links("ai_system")


# --- Risk management (6.1.2, 6.1.3, 8.2, 8.3) ---------------------------------------

risk = Table(
    "risk",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("ref", String(32), nullable=False),  # R-0001
    Column("title", String(300), nullable=False),
    Column("description", Text),
    Column("threat_id", String(32)),  # threat library id
    Column("threat", Text),
    Column("vulnerability", Text),
    Column("owner", String(200)),
    Column("framework", String(64), nullable=False, default="iso27001-2022"),
    Column("inherent_likelihood", Integer),
    Column("inherent_impact", Integer),
    Column("inherent_score", Integer),
    Column("inherent_level", String(32)),
    Column("residual_likelihood", Integer),
    Column("residual_impact", Integer),
    Column("residual_score", Integer),
    Column("residual_level", String(32)),
    Column("treatment", String(16)),  # modify | retain | avoid | share
    Column("treatment_plan", Text),
    Column("status", String(16), nullable=False, default="identified"),
    Column("due_date", Date),
    Column("review_date", Date),
    # The risk's register document without its closing brace, written by database
    # triggers (migration 0006) and read by annexa.risk.register_json; never set by Annexa.
    Column("listing", Text),
    *timestamps(),
    UniqueConstraint("org_id", "ref"),
    UniqueConstraint("org_id", "title"),
    Index("ix_risk_org_residual", "org_id", "residual_score"),
)


risk_asset = asset_links("risk")


# A control chosen in a risk's treatment plan: the link the SoA is built from.
risk_control = Table(
    "risk_control",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column(
        "risk_id", Integer, ForeignKey("risk.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("framework", String(64), nullable=False),
    Column("ref", String(32), nullable=False),
    UniqueConstraint("risk_id", "framework", "ref"),
    Index("ix_risk_control_org_ref", "org_id", "framework", "ref"),
)


risk_acceptance = Table(
    "risk_acceptance",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column(
        "risk_id", Integer, ForeignKey("risk.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("approver", String(200), nullable=False),
    Column("rationale", Text),
    Column("accepted_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("residual_score", Integer),
    Column("created_at", DateTime, nullable=False, default=utcnow),
)


# --- Statement of Applicability (6.1.3 d) -------------------------------------------

# The current decision for one control of one framework's Annex A.
soa_entry = Table(
    "soa_entry",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("framework", String(64), nullable=False),
    Column("ref", String(32), nullable=False),
    Column("applicable", Boolean),  # None: not yet decided
    Column("reasons", Json, nullable=False, default=list),
    Column("justification", Text),
    Column("status", String(16), nullable=False, default="not_started"),
    Column("owner", String(200)),
    Column("notes", Text),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime),
    UniqueConstraint("org_id", "framework", "ref"),
)


# A published, immutable snapshot of one framework's SoA.
soa_version = Table(
    "soa_version",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("framework", String(64), nullable=False),
    Column("number", Integer, nullable=False),
    Column("published_at", DateTime, nullable=False, default=utcnow),
    Column("published_by", String(200)),
    Column("note", Text),
    Column("entries", Json, nullable=False),
    UniqueConstraint("org_id", "framework", "number"),
)


# --- Custom catalogs ------------------------------------------------------------------

# A framework imported by an organisation, stored as its validated document.
custom_framework = Table(
    "custom_framework",
    metadata,
    Column("id", Integer, primary_key=True),
    org_id(),
    Column("framework_id", String(64), nullable=False),
    Column("source_format", String(32), nullable=False),
    Column("document", Json, nullable=False),
    Column("imported_at", DateTime, nullable=False, default=utcnow),
    UniqueConstraint("org_id", "framework_id"),
)


# --- Audit log (append-only; see docs/audit-log.md) -----------------------------------
# No foreign keys: events outlive what they describe (an organisation's deletion cascades
# to its records, never to their history). Database triggers refuse UPDATE and DELETE.

# One change, as the canonical bytes that are the Merkle tree's leaf.
audit_event = Table(
    "audit_event",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime, nullable=False, index=True),
    Column("org_id", Integer, index=True),
    Column("org_slug", String(64)),
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("object_ref", String(300)),
    Column("request_id", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Index("ix_audit_event_object", "object_type", "object_id"),
)


# A perfect subtree root of the Merkle tree: leaves [index·2^level, (index+1)·2^level).
audit_node = Table(
    "audit_node",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)


# The single row appenders lock: tree size and the frontier of perfect subtree roots.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


# A signed tree head, as the C2SP signed note text that was issued.
audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tree_size", BigInteger, nullable=False, index=True),
    Column("root_hash", LargeBinary, nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("note", Text, nullable=False),
)


# --- Accounts (people, their roles per organisation, API tokens) ----------------------

# A person who signs in. Never holds a plaintext password: only its argon2 hash.
app_user = Table(
    "app_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-case
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200)),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime),
    Column("last_login_at", DateTime),
    # TOTP second factor (RFC 6238): the base32 secret, when it was confirmed, and the last
    # time step accepted (a code is never accepted twice).
    Column("totp_secret", String(64)),
    Column("totp_enabled_at", DateTime),
    Column("totp_last_step", BigInteger),
    *timestamps(),
)


# A user's role in one organisation: admin, editor, contributor, auditor or viewer.
membership = Table(
    "membership",
    metadata,
    Column("id", Integer, primary_key=True),
    user_id(),
    org_id(),
    Column("role", String(16), nullable=False),
    *timestamps(),
    UniqueConstraint("user_id", "org_id"),
)


# A personal API token: only the SHA-256 of its secret is kept.
api_token = Table(
    "api_token",
    metadata,
    Column("id", Integer, primary_key=True),
    user_id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),  # the first characters, to recognise it
    Column("name", String(200)),
    Column("scope", String(16), nullable=False),  # read | write
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)


# A browser sign-in. The cookie holds a random secret; only its SHA-256 is kept. ``stage``
# is ``password`` while a TOTP code is still owed, ``full`` once signed in.
web_session = Table(
    "web_session",
    metadata,
    Column("id", Integer, primary_key=True),
    user_id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("stage", String(16), nullable=False),
    Column("method", String(16), nullable=False),  # password | oidc
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("last_seen_at", DateTime, nullable=False, default=utcnow),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)


# Single sign-on for one organisation through an OpenID Connect provider.
oidc_provider = Table(
    "oidc_provider",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "org_id",
        Integer,
        ForeignKey("organisation.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("issuer", String(500), nullable=False),
    Column("client_id", String(300), nullable=False),
    Column("client_secret", String(500)),
    Column("scopes", String(300), nullable=False, default="openid email profile"),
    # E-mail domains whose users may be created on first sign-in (comma-separated);
    # empty: only users who already exist may sign in.
    Column("allowed_domains", String(1000), nullable=False, default=""),
    Column("default_role", String(16), nullable=False, default="viewer"),
    Column("enabled", Boolean, nullable=False, default=True),
    *timestamps(),
)


# A user's account at an OIDC issuer (``iss`` + ``sub``), linked at first sign-in.
user_identity = Table(
    "user_identity",
    metadata,
    Column("id", Integer, primary_key=True),
    user_id(),
    Column("issuer", String(500), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    UniqueConstraint("issuer", "subject"),
)


# --- Guard vault (reversible pseudonymisation; see docs/guard.md) ---------------------
# Not audited (annexa.audit.log.UNAUDITED_TABLES): entries are short-lived, sealed
# values of prompts and documents, not records of the ISMS.

# One vaulted value: AES-256-GCM sealed under the organisation's derived key, with the
# placeholder as associated data, found again by a keyed HMAC of the value.
guard_vault_entry = Table(
    "guard_vault_entry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", Integer, ForeignKey("organisation.id", ondelete="CASCADE"), nullable=False),
    Column("placeholder", String(64), nullable=False),  # <EMAIL_ADDRESS_12>
    Column("entity_type", String(64), nullable=False),
    Column("digest", LargeBinary, nullable=False),  # HMAC-SHA256 of type and value
    Column("sealed", LargeBinary, nullable=False),  # 12-byte nonce ‖ ciphertext ‖ tag
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("expires_at", DateTime, nullable=False, index=True),
    UniqueConstraint("org_id", "placeholder"),
    UniqueConstraint("org_id", "digest"),
)


# The last placeholder number issued per organisation and entity type: incremented in
# place (an upsert that locks the row), so numbers stay unique across processes.
guard_vault_counter = Table(
    "guard_vault_counter",
    metadata,
    Column("org_id", Integer, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("entity_type", String(64), primary_key=True),
    Column("last_number", BigInteger, nullable=False, default=0),
)

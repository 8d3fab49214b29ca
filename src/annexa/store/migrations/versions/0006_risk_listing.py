"""risk listing: each risk's register document, kept current by the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 06:30:00.000000

`risk list --json` on a register of 50,000 risks spent most of its time building the same
documents again on every call: one JSON object per risk with its asset names and control
keys. The database now keeps that document on the risk row (``risk.listing``) and renders
it again whenever the risk, its links or a linked asset's name change, so a listing only
appends the two fields that depend on the day (review overdue, the acceptance) and reads.

The document is stored without its closing brace: the reader appends the fields of the
day and closes it. Triggers rather than application code keep it current, so that no write
path (the services, a bulk load, an administrator's SQL) can leave a stale document.

The SQLite triggers use only SQL that SQLite 3.38 understands (no ORDER BY inside an
aggregate), so that older sqlite3 builds (a distribution's command-line shell, the
standard library's module) can still open and write the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The risk columns the document is made of: changing any of them renders it again.
SOURCE_COLUMNS = (
    "ref",
    "title",
    "description",
    "framework",
    "threat_id",
    "threat",
    "vulnerability",
    "owner",
    "inherent_likelihood",
    "inherent_impact",
    "inherent_score",
    "inherent_level",
    "residual_likelihood",
    "residual_impact",
    "residual_score",
    "residual_level",
    "treatment",
    "treatment_plan",
    "status",
    "due_date",
    "review_date",
)

# SQLite: json_object writes the document; rtrim drops its closing brace (its last value is
# review_date, a string or null, so exactly one brace ends it). Subquery results lose
# their JSON subtype on SQLite before 3.45, so json() marks the arrays as JSON again.
SQLITE_RENDER = """rtrim(json_object(
    'ref', risk.ref, 'title', risk.title, 'description', risk.description,
    'framework', risk.framework, 'threat_id', risk.threat_id, 'threat', risk.threat,
    'vulnerability', risk.vulnerability, 'owner', risk.owner,
    'assets', json((SELECT json_group_array(name) FROM (
        SELECT asset.name AS name FROM risk_asset JOIN asset ON asset.id = risk_asset.asset_id
        WHERE risk_asset.risk_id = risk.id ORDER BY asset.name))),
    'inherent', json_object('likelihood', risk.inherent_likelihood,
        'impact', risk.inherent_impact, 'score', risk.inherent_score,
        'level', risk.inherent_level),
    'residual', json_object('likelihood', risk.residual_likelihood,
        'impact', risk.residual_impact, 'score', risk.residual_score,
        'level', risk.residual_level),
    'treatment', risk.treatment, 'treatment_plan', risk.treatment_plan,
    'controls', json((SELECT json_group_array(control) FROM (
        SELECT risk_control.framework || ':' || risk_control.ref AS control FROM risk_control
        WHERE risk_control.risk_id = risk.id ORDER BY risk_control.id))),
    'status', risk.status, 'due_date', risk.due_date, 'review_date', risk.review_date
), '}')"""

# Each trigger: its event, and the risks whose document it renders again.
SQLITE_TRIGGERS = {
    "risk_listing_on_insert": ("AFTER INSERT ON risk", "risk.id = NEW.id"),
    "risk_listing_on_update": (
        f"AFTER UPDATE OF {', '.join(SOURCE_COLUMNS)} ON risk",
        "risk.id = NEW.id",
    ),
    "risk_listing_on_control_insert": ("AFTER INSERT ON risk_control", "risk.id = NEW.risk_id"),
    "risk_listing_on_control_update": (
        "AFTER UPDATE ON risk_control",
        "risk.id IN (OLD.risk_id, NEW.risk_id)",
    ),
    "risk_listing_on_control_delete": ("AFTER DELETE ON risk_control", "risk.id = OLD.risk_id"),
    "risk_listing_on_asset_link_insert": ("AFTER INSERT ON risk_asset", "risk.id = NEW.risk_id"),
    "risk_listing_on_asset_link_update": (
        "AFTER UPDATE ON risk_asset",
        "risk.id IN (OLD.risk_id, NEW.risk_id)",
    ),
    "risk_listing_on_asset_link_delete": ("AFTER DELETE ON risk_asset", "risk.id = OLD.risk_id"),
    "risk_listing_on_asset_rename": (
        "AFTER UPDATE OF name ON asset",
        "risk.id IN (SELECT risk_id FROM risk_asset WHERE asset_id = NEW.id)",
    ),
}


def _json(value: str) -> str:
    return f"coalesce(to_json({value})::text, 'null')"


def _date(value: str) -> str:
    return _json(f"to_char({value}, 'YYYY-MM-DD')")


# PostgreSQL: the same document by concatenation, because json_build_object writes
# " : " and ", " between members and the SQLite and Python documents are compact. Asset
# names sort by code point (COLLATE "C"), as SQLite's BINARY collation and Python do.
POSTGRESQL_RENDER = " || ".join(
    [
        f"""'{{"ref":' || {_json("NEW.ref")}""",
        f"""',"title":' || {_json("NEW.title")}""",
        f"""',"description":' || {_json("NEW.description")}""",
        f"""',"framework":' || {_json("NEW.framework")}""",
        f"""',"threat_id":' || {_json("NEW.threat_id")}""",
        f"""',"threat":' || {_json("NEW.threat")}""",
        f"""',"vulnerability":' || {_json("NEW.vulnerability")}""",
        f"""',"owner":' || {_json("NEW.owner")}""",
        """',"assets":[' || coalesce((SELECT string_agg(to_json(asset.name)::text, ','
            ORDER BY asset.name COLLATE "C") FROM risk_asset JOIN asset
            ON asset.id = risk_asset.asset_id WHERE risk_asset.risk_id = NEW.id), '') || ']'""",
        f"""',"inherent":{{"likelihood":' || {_json("NEW.inherent_likelihood")}""",
        f"""',"impact":' || {_json("NEW.inherent_impact")}""",
        f"""',"score":' || {_json("NEW.inherent_score")}""",
        f"""',"level":' || {_json("NEW.inherent_level")} || '}}'""",
        f"""',"residual":{{"likelihood":' || {_json("NEW.residual_likelihood")}""",
        f"""',"impact":' || {_json("NEW.residual_impact")}""",
        f"""',"score":' || {_json("NEW.residual_score")}""",
        f"""',"level":' || {_json("NEW.residual_level")} || '}}'""",
        f"""',"treatment":' || {_json("NEW.treatment")}""",
        f"""',"treatment_plan":' || {_json("NEW.treatment_plan")}""",
        """',"controls":[' || coalesce((SELECT string_agg(
            to_json(risk_control.framework || ':' || risk_control.ref)::text, ','
            ORDER BY risk_control.id) FROM risk_control
            WHERE risk_control.risk_id = NEW.id), '') || ']'""",
        f"""',"status":' || {_json("NEW.status")}""",
        f"""',"due_date":' || {_date("NEW.due_date")}""",
        f"""',"review_date":' || {_date("NEW.review_date")}""",
    ]
)

# A change to links or asset names touches the risks concerned; the risk's own BEFORE
# trigger then renders the document. Statement-level with transition tables, so a bulk
# load renders each risk once per statement rather than once per link.
POSTGRESQL_LINK_TABLES = ("risk_control", "risk_asset")


def upgrade() -> None:
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listing", sa.Text(), nullable=True))
    # The statements below are built from this module's constants only.
    if op.get_bind().dialect.name == "sqlite":
        for trigger, (event, rows) in SQLITE_TRIGGERS.items():
            render = f"UPDATE risk SET listing = {SQLITE_RENDER} WHERE {rows}"  # noqa: S608
            op.execute(f"CREATE TRIGGER {trigger} {event} BEGIN {render}; END")
        op.execute(f"UPDATE risk SET listing = {SQLITE_RENDER}")  # noqa: S608
        return
    op.execute(
        "CREATE FUNCTION annexa_risk_listing() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.listing := {POSTGRESQL_RENDER}; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER risk_listing BEFORE INSERT OR UPDATE ON risk "
        "FOR EACH ROW EXECUTE FUNCTION annexa_risk_listing()"
    )
    op.execute(
        "CREATE FUNCTION annexa_risk_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP <> 'DELETE' THEN "
        "UPDATE risk SET listing = NULL WHERE id IN (SELECT risk_id FROM new_links); END IF; "
        "IF TG_OP <> 'INSERT' THEN "
        "UPDATE risk SET listing = NULL WHERE id IN (SELECT risk_id FROM old_links); END IF; "
        "RETURN NULL; END $$"
    )
    for table in POSTGRESQL_LINK_TABLES:
        for verb, transitions in (
            ("INSERT", "NEW TABLE AS new_links"),
            ("UPDATE", "OLD TABLE AS old_links NEW TABLE AS new_links"),
            ("DELETE", "OLD TABLE AS old_links"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_listing_on_{verb.lower()} AFTER {verb} ON {table} "
                f"REFERENCING {transitions} FOR EACH STATEMENT "
                "EXECUTE FUNCTION annexa_risk_links_changed()"
            )
    op.execute(
        "CREATE FUNCTION annexa_risk_asset_renamed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN UPDATE risk SET listing = NULL WHERE id IN "
        "(SELECT risk_id FROM risk_asset WHERE asset_id = NEW.id); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER asset_listing_on_rename AFTER UPDATE OF name ON asset FOR EACH ROW "
        "WHEN (OLD.name IS DISTINCT FROM NEW.name) "
        "EXECUTE FUNCTION annexa_risk_asset_renamed()"
    )
    op.execute("UPDATE risk SET listing = NULL")  # the BEFORE trigger renders every risk


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
    else:
        op.execute("DROP TRIGGER asset_listing_on_rename ON asset")
        for table in POSTGRESQL_LINK_TABLES:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_listing_on_{verb} ON {table}")
        op.execute("DROP TRIGGER risk_listing ON risk")
        op.execute("DROP FUNCTION annexa_risk_asset_renamed()")
        op.execute("DROP FUNCTION annexa_risk_links_changed()")
        op.execute("DROP FUNCTION annexa_risk_listing()")
    with op.batch_alter_table("risk", schema=None) as batch_op:
        batch_op.drop_column("listing")

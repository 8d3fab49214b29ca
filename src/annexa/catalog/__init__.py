"""Frameworks and cross-framework mappings, kept as YAML data validated by a pydantic schema.

Built-in catalogs ship in ``annexa/catalog/data``; organisations may import more. Records
elsewhere refer to requirements by ``(framework id, ref)``.
"""

from annexa.catalog.models import Framework, Group, MappingSet, Requirement
from annexa.catalog.service import (
    SOA_FRAMEWORKS,
    get_framework,
    import_framework,
    import_framework_text,
    list_frameworks,
    list_mappings,
    map_requirement,
    validate_import_file,
)

__all__ = [
    "SOA_FRAMEWORKS",
    "Framework",
    "Group",
    "MappingSet",
    "Requirement",
    "get_framework",
    "import_framework",
    "import_framework_text",
    "list_frameworks",
    "list_mappings",
    "map_requirement",
    "validate_import_file",
]

"""Suppliers: the third parties that hold, process or provide information and AI."""

from annexa.suppliers.service import (
    CRITICALITY,
    add_supplier,
    find_supplier,
    get_supplier,
    list_suppliers,
    supplier_to_dict,
    update_supplier,
)

__all__ = [
    "CRITICALITY",
    "add_supplier",
    "find_supplier",
    "get_supplier",
    "list_suppliers",
    "supplier_to_dict",
    "update_supplier",
]

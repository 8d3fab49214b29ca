"""Risk management: the matrix, the threat library and the risk register.

Names are imported on first use, so a command that only lists the register does not pay
for the catalogs, the audit log and pydantic.
"""

from __future__ import annotations

from annexa.lazy import lazy_exports

_HOMES = {
    "DEFAULT_MATRIX": "annexa.risk.matrix",
    "Rating": "annexa.risk.matrix",
    "RiskMatrix": "annexa.risk.matrix",
    "parse_matrix": "annexa.risk.matrix",
    "STATUSES": "annexa.risk.register",
    "TREATMENTS": "annexa.risk.register",
    "current_level": "annexa.risk.register",
    "list_risks": "annexa.risk.register",
    "DEFAULT_FRAMEWORK": "annexa.risk.service",
    "accept": "annexa.risk.service",
    "add_risk": "annexa.risk.service",
    "assess": "annexa.risk.service",
    "get_matrix": "annexa.risk.service",
    "get_risk": "annexa.risk.service",
    "risk_to_dict": "annexa.risk.service",
    "set_matrix": "annexa.risk.service",
    "treat": "annexa.risk.service",
    "update_risk": "annexa.risk.service",
    "Threat": "annexa.risk.threats",
    "get_threat": "annexa.risk.threats",
    "list_threats": "annexa.risk.threats",
}

__all__ = sorted(_HOMES)

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

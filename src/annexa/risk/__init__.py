"""Risk management: the matrix, the threat library and the risk register."""

from annexa.risk.matrix import DEFAULT_MATRIX, Rating, RiskMatrix, parse_matrix
from annexa.risk.service import (
    STATUSES,
    TREATMENTS,
    accept,
    add_risk,
    assess,
    get_matrix,
    get_risk,
    list_risks,
    risk_to_dict,
    set_matrix,
    treat,
    update_risk,
)
from annexa.risk.threats import Threat, get_threat, list_threats

__all__ = [
    "DEFAULT_MATRIX",
    "STATUSES",
    "TREATMENTS",
    "Rating",
    "RiskMatrix",
    "Threat",
    "accept",
    "add_risk",
    "assess",
    "get_matrix",
    "get_risk",
    "get_threat",
    "list_risks",
    "list_threats",
    "parse_matrix",
    "risk_to_dict",
    "set_matrix",
    "treat",
    "update_risk",
]

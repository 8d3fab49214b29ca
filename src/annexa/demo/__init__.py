"""The demo organisation: a 40-person law firm adopting AI, loaded from a data file."""

from annexa.demo.loader import DEMO_SLUG, load_demo, remove_demo

__all__ = ["DEMO_SLUG", "load_demo", "remove_demo"]

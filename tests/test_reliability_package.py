"""The package face of course_lib.reliability: every exported name exists and comes from its module,
and the two different deletion-curve areas stay out of the package namespace."""

import importlib

import course_lib.reliability as reliability

MODULES = ("corruptions", "shift", "ood", "far_ood", "faithfulness", "fairness", "token_attribution", "diagrams")


def test_every_exported_name_resolves_to_its_module_object():
    assert len(set(reliability.__all__)) == len(reliability.__all__), "__all__ lists a name twice"
    modules = [importlib.import_module(f"course_lib.reliability.{name}") for name in MODULES]
    for name in reliability.__all__:
        exported = getattr(reliability, name)
        owners = [module for module in modules if getattr(module, name, None) is exported]
        assert owners, f"course_lib.reliability.{name} is not the object of any of its modules"


def test_the_two_curve_areas_are_not_exported_under_one_name():
    # faithfulness.curve_auc integrates over the deleted fraction; token_attribution.curve_auc divides
    # by the span (mean height). One package-level name would hide which one a reader gets.
    assert "curve_auc" not in reliability.__all__
    assert not hasattr(reliability, "curve_auc")

"""The package face of course_lib.efficiency: every exported name exists and comes from its module."""

import importlib

import course_lib.efficiency as efficiency

MODULES = ("measure", "latency_grid", "onnx_runtime", "pruning", "distillation", "distributed", "diagrams")


def test_every_exported_name_resolves_to_its_module_object():
    assert len(set(efficiency.__all__)) == len(efficiency.__all__), "__all__ lists a name twice"
    modules = [importlib.import_module(f"course_lib.efficiency.{name}") for name in MODULES]
    for name in efficiency.__all__:
        exported = getattr(efficiency, name)
        owners = [module for module in modules if getattr(module, name, None) is exported]
        assert owners, f"course_lib.efficiency.{name} is not the object of any of its modules"


def test_the_script_is_a_module_torchrun_can_run():
    script = importlib.import_module("course_lib.efficiency.ddp_train")
    assert callable(getattr(script, "main", None)), "ddp_train has no main() for torchrun -m"

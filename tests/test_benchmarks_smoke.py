"""The benchmark suite runs in its quick mode and writes every field (not the figures)."""

from __future__ import annotations

import json
import types

import pytest

from benchmarks import run
from benchmarks.schedules import ONLY_JAXLR, PAIRS
from benchmarks.torch_scheduler import TORCH_SCHEDULERS


def test_quick_benchmark_writes_every_field(tmp_path):
    run.main(["--quick", "--out", str(tmp_path)])
    device = run.device_name()
    result = json.loads((tmp_path / f"{device}.json").read_text())
    assert set(result["environment"]) == {"device", "device_kind", "jax", "jaxlib", "optax", "python", "machine",
                                          "torch", "flax"}
    assert [r["schedule"] for r in result["vs_optax"]] == [name for name, _, _ in PAIRS]
    for row in result["vs_optax"]:
        assert set(row) == {"schedule", "jaxpr_eqns_jaxlr", "jaxpr_eqns_optax", "compile_s_jaxlr",
                            "compile_s_optax", "eval_s_jaxlr", "eval_s_optax", "eval_ratio"}
        assert row["jaxpr_eqns_jaxlr"] > 0 and row["eval_s_jaxlr"] > 0
    assert len(result["train_step"]) == len(PAIRS) + len(ONLY_JAXLR)
    for row in result["train_step"]:
        assert set(row) == {"schedule", "step_us_constant", "step_us_schedule", "ratio"}
    assert {(r["pieces"], r["schedule"]) for r in result["composition"]} == {
        (k, name) for k in (2, 16) for name in ("jaxlr.join", "optax.join_schedules", "jaxlr.piecewise_constant",
                                                 "optax.piecewise_constant_schedule")
    }
    for row in result["composition"]:
        assert set(row) == {"pieces", "schedule", "jaxpr_eqns", "compile_s", "eval_s"}
    sweeps = result["sweeps"]
    assert [r["n"] for r in sweeps["rows"]] == [1, 4]
    assert all(set(r) == {"n", "vmap_s", "sequential_s", "speedup"} for r in sweeps["rows"])
    assert sweeps["optax_schedule_under_vmap"].startswith(("works", "fails: "))
    assert len(result["compile"]) == len(result["train_step"])
    assert all(set(r) == {"schedule", "compile_s_constant", "compile_s_schedule", "ratio"} for r in result["compile"])
    if result["torch"]["available"]:
        assert [r["scheduler"] for r in result["torch"]["rows"]] == list(TORCH_SCHEDULERS)
        assert set(result["torch"]) == {"available", "torch", "rows", "jaxlr_in_step_overhead_us_median",
                                        "jaxlr_in_step_overhead_us_range"}
    table = (tmp_path / f"{device}.md").read_text()
    if result["flax_train_step"]["available"]:
        assert all(set(r) == {"schedule", "step_us_constant", "step_us_schedule", "ratio"}
                   for r in result["flax_train_step"]["rows"])
    eager = result["eager"]
    assert [r["schedule"] for r in eager["rows"]][:len(PAIRS)] == [name for name, _, _ in PAIRS]
    for row in eager["rows"]:
        assert set(row) == {"schedule", "jaxlr_us", "optax_us", "ratio", "torch_us", "first_call_ms"}
        assert row["jaxlr_us"] > 0 and (row["optax_us"] is None) == (row["ratio"] is None)
    assert [r["pieces"] for r in result["big_join"]["rows"]] == [16, 64]
    assert set(result["big_join"]["ratios"]) == {"compile_s_closed_over", "compile_s_argument", "eval_s"}
    laws = result["laws"]
    assert set(laws) == {"fit_first_s", "fit_s", "fit_max_steps", "predict_steps", "predict_points", "predict_s",
                         "predict_exact_s", "exact_over_block", "reference_fit_s_cited"}
    assert laws["predict_steps"] == 24_000 and laws["fit_max_steps"] == 20 and laws["predict_s"] > 0
    for heading in ("Against optax", "Train step", "Flax NNX", "Composition", "Sweeps", "Against PyTorch",
                    "Compile time", "Eager calls", "A big join", "Loss law"):
        assert f"## {heading}" in table

    # --only re-measures the modules it names and keeps every other section of the file.
    again = run.main(["--quick", "--out", str(tmp_path), "--only", "big_join"])
    assert again["vs_optax"] == result["vs_optax"] and again["eager"] == result["eager"]
    assert [r["pieces"] for r in again["big_join"]["rows"]] == [16, 64]
    assert again["big_join"] != result["big_join"]  # measured anew: timings never repeat to the last bit
    assert (tmp_path / f"{device}.md").read_text().count("\n## ") == table.count("\n## ")
    earlier = json.loads((tmp_path / f"{device}.json").read_text())
    earlier["environment"]["jax"] = "0.0.1"
    (tmp_path / f"{device}.json").write_text(json.dumps(earlier))
    with pytest.raises(SystemExit, match="another setup \\(jax differ\\)"):
        run.main(["--quick", "--out", str(tmp_path), "--only", "big_join"])
    with pytest.raises(SystemExit, match="no earlier results"):
        run.main(["--quick", "--out", str(tmp_path / "empty"), "--only", "eager"])


def test_a_measurement_is_a_module_with_measure_and_report(tmp_path):
    for module in run.MEASUREMENTS:
        assert callable(module.measure) and callable(module.report), module.__name__
    added = types.ModuleType("benchmarks.added")
    added.measure = lambda sizes, results: {"added": {"quick": sizes.quick, "before": sorted(results)}}
    added.report = lambda results: ["", "## Added", "", f"quick: {results['added']['quick']}"]
    result = run.main(["--quick", "--out", str(tmp_path)], measurements=[added])
    assert result["added"] == {"quick": True, "before": ["environment", "quick"]}
    stem = tmp_path / run.device_name()
    assert json.loads(stem.with_suffix(".json").read_text())["added"] == result["added"]
    assert stem.with_suffix(".md").read_text().endswith(" run.\n\n## Added\n\nquick: True\n")

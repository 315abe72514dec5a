"""Loading and validating scenarios: good files load, bad ones get precise messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BAD, DEFAULT, ROOT

from sim import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.inputs.resolve import resolved_yaml

SCENARIO_FILES = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml")
                        if not {"sweeps", "networks"} & set(p.parts))
NETWORK_FILES = sorted((ROOT / "scenarios" / "networks").glob("*.yaml"))
SWEEP_FILES = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_scenario_is_valid(path):
    s = load_scenario(path)
    assert isinstance(s, Scenario)
    assert s.population.size > 0


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_every_shipped_sweep_is_valid(path):
    from sim.inputs.sweeps import load_sweep

    sweep = load_sweep(path)
    assert len(sweep.points) > 1 and sweep.spec.replications >= 2


@pytest.mark.parametrize("path", NETWORK_FILES, ids=lambda p: p.name)
def test_every_shipped_network_is_valid(path):
    from sim.inputs.networks import load_network

    assert len(load_network(path).practices) > 1


def test_scenario_is_frozen(default_scenario):
    with pytest.raises(Exception, match="frozen"):
        default_scenario.seed = 3


def problems_of(name: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BAD / name)
    return [str(p) for p in info.value.problems]


# (file, what the message must contain): the file, the key path, and the line.
CASES = [
    ("wrong_type.yaml", ["wrong_type.yaml:3", "population.size", "integer"]),
    ("unknown_key.yaml", ["unknown_key.yaml:2", "populaton", "did you mean 'population'"]),
    ("nested_unknown_key.yaml",
     ["nested_unknown_key.yaml:3", "practice.booking_horizon", "did you mean 'booking_horizon_days'"]),
    ("syntax_error.yaml", ["syntax_error.yaml:4", "YAML syntax error"]),
    ("unsafe_tag.yaml", ["unsafe_tag.yaml:1", "unsafe or unknown YAML tag", "python/object"]),
    ("empty.yaml", ["empty.yaml", "empty"]),
    ("cycle_a.yaml", ["extends cycle", "cycle_a.yaml", "cycle_b.yaml"]),
    ("bad_role_ref.yaml", ["bad_role_ref.yaml:3", "clinicians[0].role", "did you mean 'gp'"]),
    ("out_of_range.yaml",
     ["out_of_range.yaml:4", "dna.by_lead_days[0].probability", "less than or equal to 1"]),
    ("shares_not_one.yaml", ["shares_not_one.yaml:3", "demand.modes", "sum to 1"]),
    ("not_a_mapping.yaml", ["not_a_mapping.yaml:1", "mapping"]),
    ("missing_extends_target.yaml", ["nowhere.yaml", "file not found"]),
    ("bad_policy.yaml", ["bad_policy.yaml:3", "policy.name", "did you mean 'access_first'"]),
    ("duplicate_key.yaml", ["duplicate_key.yaml:3", "seed", "twice"]),
    ("bad_session.yaml", ["bad_session.yaml:3", "clinicians[0].sessions[1]", "shut",
                          "clinicians[0].sessions[2]", "unknown session"]),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_file_message_names_file_key_and_line(name, expected):
    text = "\n".join(problems_of(name))
    for part in expected:
        assert part in text, f"{part!r} missing from:\n{text}"


def test_unsafe_tag_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    f = tmp_path / "evil.yaml"
    f.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(ScenarioError):
        load_scenario(f)
    assert not marker.exists()


def test_all_problems_reported_together(tmp_path):
    f = tmp_path / "two.yaml"
    f.write_text(f"extends: {DEFAULT}\npopulation:\n  size: -5\npractice:\n  max_attempts: 0\n")
    problems = problems_of_path(f)
    assert any("population.size" in p for p in problems)
    assert any("practice.max_attempts" in p for p in problems)


def problems_of_path(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(p) for p in info.value.problems]


def test_extends_deep_merges_and_child_wins(tmp_path):
    f = tmp_path / "child.yaml"
    f.write_text(f"extends: {DEFAULT}\nname: child\npractice:\n  booking_horizon_days: 21\n")
    s = load_scenario(f)
    base = load_scenario(DEFAULT)
    assert s.name == "child"
    assert s.practice.booking_horizon_days == 21
    # Siblings of the overridden key survive the merge.
    assert s.practice.opening == base.practice.opening
    assert s.clinicians == base.clinicians


def test_override_errors_point_at_the_key():
    with pytest.raises(ScenarioError) as info:
        load_scenario(DEFAULT, {"population.sise": 10})
    assert "did you mean 'size'" in str(info.value)


def test_resolved_yaml_round_trips(tmp_path, default_scenario):
    f = tmp_path / "resolved.yaml"
    f.write_text(resolved_yaml(default_scenario))
    assert load_scenario(f) == default_scenario


def test_scenario_from_dict_validates(default_scenario):
    data = default_scenario.model_dump(mode="json")
    assert scenario_from_dict(data) == default_scenario
    data["population"]["size"] = 0
    with pytest.raises(ScenarioError, match=r"population\.size"):
        scenario_from_dict(data)


def test_json_schema_forbids_unknown_keys():
    schema = Scenario.model_json_schema()
    assert schema["additionalProperties"] is False
    assert "population" in schema["properties"]
    json.dumps(schema)  # serialisable


def test_team_references_checked(tmp_path):
    f = tmp_path / "teams.yaml"
    # The default's teams are removed first (id "*"), so these two replace them.
    f.write_text(f"extends: {DEFAULT}\nteams:\n"
                 "  - {id: '*', remove: true}\n"
                 "  - {id: a, lead: gp_adamz, members: [gp_begum, pn_khan]}\n"
                 "  - {id: b, lead: gp_begum, members: [pn_khan]}\n")
    text = "\n".join(problems_of_path(f))
    assert "teams.yaml:4: teams[1].lead: unknown clinician 'gp_adamz'; did you mean 'gp_adams'?" in text
    assert "teams.yaml:5: teams[2].lead: list-holder 'gp_begum' is already in team 'a'" in text
    # Support staff (pn_khan) may serve both teams: no problem reported for them.
    assert "pn_khan" not in text

"""Loading and validating scenarios: good files load, bad ones get precise messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BAD, DEFAULT, NETWORK_FILES, ROOT, SCENARIO_FILES, SWEEP_FILES

from sim import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.inputs.resolve import resolved_yaml


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
    ("tab_indent.yaml", ["tab_indent.yaml:3", "a tab: YAML indents with spaces only"]),
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


# ------------------------------------------------------------------ YAML safety

BOMB = "\n".join(["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                 + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]"
                    for i in range(8)]) + "\n"


@pytest.mark.parametrize("loader", ["scenario", "network", "sweep", "validate"])
def test_an_alias_bomb_is_refused_quickly_by_every_reader(tmp_path, loader):
    """Nine levels of nine aliases (9^9 strings expanded, under 1 KB on disk)."""
    import time

    from gpsim.validate import check_file
    from sim.inputs.networks import load_network
    from sim.inputs.sweeps import load_sweep

    f = tmp_path / "bomb.yaml"
    f.write_text(BOMB + ("practices: *i\n" if loader == "network" else
                         "base: x.yaml\ngrid: {x: *i}\n" if loader == "sweep" else ""))
    assert f.stat().st_size < 1024
    t0 = time.perf_counter()
    if loader == "validate":
        checked = check_file(f)
        text = "\n".join(str(p) for p in checked.problems)
    else:
        read = {"scenario": load_scenario, "network": load_network, "sweep": load_sweep}[loader]
        with pytest.raises(ScenarioError) as info:
            read(f)
        text = str(info.value)
    assert time.perf_counter() - t0 < 2.0
    assert "expands to more than 200,000 values through its aliases" in text, text


def test_reasonable_aliases_are_allowed(tmp_path):
    f = tmp_path / "aliases.yaml"
    f.write_text(f"extends: {DEFAULT}\n"
                 "x-week: &week [mon_am, mon_pm, tue_am]\n".replace("x-week: ", "")
                 .replace("&week [mon_am, mon_pm, tue_am]\n", "")
                 + "clinicians:\n"
                 "  - {id: gp_gill, sessions: &short [mon_am, tue_am]}\n"
                 "  - {id: gp_hughes, sessions: *short}\n")
    s = load_scenario(f)
    by_id = {c.id: c for c in s.clinicians}
    assert by_id["gp_gill"].sessions == by_id["gp_hughes"].sessions == ("mon_am", "tue_am")


def test_setting_a_key_through_one_alias_leaves_the_other_place_as_written(tmp_path):
    """An alias is a copy of its anchor once read: an override changes one place only."""
    f = tmp_path / "aliases.yaml"
    f.write_text(f"extends: {DEFAULT}\n"
                 "clinicians:\n"
                 "  - {id: gp_gill, sessions: &short [mon_am, tue_am]}\n"
                 "  - {id: gp_hughes, sessions: *short}\n")
    s = load_scenario(f, overrides={"clinicians[gp_gill].sessions[1]": "wed_am"})
    by_id = {c.id: c for c in s.clinicians}
    assert by_id["gp_gill"].sessions == ("mon_am", "wed_am")
    assert by_id["gp_hughes"].sessions == ("mon_am", "tue_am")
    # and the file read again is as written (the parsed file is kept, never changed)
    again = {c.id: c for c in load_scenario(f).clinicians}
    assert again["gp_gill"].sessions == ("mon_am", "tue_am")


def test_copying_parsed_data_copies_every_mapping_and_list():
    import datetime

    from sim.inputs.yaml_files import copy_tree

    day = datetime.date(2025, 1, 6)
    shared = [1, 2]
    data = {"a": {"b": [shared, {"c": day}], "d": "text"}, "e": shared, "f": {1, 2}}
    out = copy_tree(data)
    assert out == data
    assert out["a"] is not data["a"] and out["a"]["b"] is not data["a"]["b"]
    assert out["a"]["b"][0] is not shared and out["e"] is not shared
    assert out["a"]["b"][0] is not out["e"]  # an alias is a copy of its own
    assert out["f"] is not data["f"]  # anything else is deep-copied
    assert out["a"]["b"][1]["c"] is day  # dates and text never change in place: shared


def test_self_referring_and_deep_documents_are_refused(tmp_path):
    f = tmp_path / "loop.yaml"
    f.write_text("a: &a [1, *a]\n")
    with pytest.raises(ScenarioError, match="refers to a list or mapping that contains it"):
        load_scenario(f)
    f.write_text("a: " + "[" * 200 + "]" * 200 + "\n")
    with pytest.raises(ScenarioError, match="nested"):
        load_scenario(f)


def test_a_huge_file_is_refused_before_reading(tmp_path):
    f = tmp_path / "huge.yaml"
    f.write_text("name: x\n" + "# padding\n" * 600_000)
    with pytest.raises(ScenarioError, match="MiB"):
        load_scenario(f)


# ------------------------------------------------------------------ variants: ids


def test_extends_merges_clinicians_by_id_adds_and_removes(tmp_path):
    """Change one clinician, add one, remove one: three lines, not a copy of sixteen."""
    f = tmp_path / "variant.yaml"
    f.write_text(f"extends: {DEFAULT}\nclinicians:\n"
                 "  - {id: gp_hughes, sessions: [wed_am, wed_pm, fri_am, fri_pm]}\n"
                 "  - {id: gp_new, role: gp, sessions: [mon_am, mon_pm]}\n"
                 "  - {id: pn_morgan, remove: true}\n"
                 "teams:\n  - {id: east, members: [gp_evans, pa_patel, ph_nowak]}\n")
    s, base = load_scenario(f), load_scenario(DEFAULT)
    assert {t.id: t for t in s.teams}["east"].lead == "gp_carter"  # merged: the lead kept
    ids = [c.id for c in s.clinicians]
    assert ids == [c.id for c in base.clinicians if c.id != "pn_morgan"] + ["gp_new"]
    hughes = {c.id: c for c in s.clinicians}["gp_hughes"]
    assert hughes.sessions == ("wed_am", "wed_pm", "fri_am", "fri_pm") and hughes.role == "gp"


def test_extends_remove_all_then_replace(tmp_path):
    f = tmp_path / "teams.yaml"
    f.write_text(f"extends: {DEFAULT}\nteams:\n  - {{id: '*', remove: true}}\n"
                 "  - {id: solo, lead: gp_adams, members: [pn_khan]}\n")
    assert [t.id for t in load_scenario(f).teams] == ["solo"]


def test_removing_an_unknown_id_is_named(tmp_path):
    f = tmp_path / "gone.yaml"
    f.write_text(f"extends: {DEFAULT}\nclinicians:\n  - {{id: gp_hughs, remove: true}}\n")
    text = "\n".join(problems_of_path(f))
    assert "gone.yaml:3: clinicians[0].id: cannot remove 'gp_hughs': no item has that id; " \
           "did you mean 'gp_hughes'?" in text


@pytest.mark.parametrize("key", ["clinicians[7].sessions", "clinicians.7.sessions",
                                 "clinicians[gp_hughes].sessions"])
def test_set_addresses_list_items_by_position_or_id(key):
    s = load_scenario(DEFAULT, {key: ["mon_am"]})
    assert {c.id: c for c in s.clinicians}["gp_hughes"].sessions == ("mon_am",)


def test_set_adds_and_removes_items_by_id():
    s = load_scenario(DEFAULT, {"clinicians[gp_new]": {"role": "gp", "sessions": ["mon_am"]},
                                "clinicians[pn_morgan]": {"remove": True},
                                "teams[east].members": ["gp_evans", "pa_patel", "ph_nowak"]})
    ids = [c.id for c in s.clinicians]
    assert "gp_new" in ids and "pn_morgan" not in ids


def test_a_bad_set_is_blamed_on_the_set_and_names_the_forms():
    with pytest.raises(ScenarioError) as info:
        load_scenario(DEFAULT, {"clinicians[7].sesions": ["mon_am"]})
    text = str(info.value)
    assert text.startswith("--set: clinicians[7].sesions: unknown key 'sesions'; did you mean "
                           "'sessions'?"), text
    with pytest.raises(ScenarioError) as info:
        load_scenario(DEFAULT, {"clinicians.gp_adams.sessions": ["mon_am"]})
    assert "clinicians is a list: address an item as clinicians[3] (by position) or " \
           "clinicians[some_id] (by id)" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(DEFAULT, {"clinicians[gp_adamz].sessions": ["mon_am"]})
    assert "has no item with id 'gp_adamz'; did you mean 'gp_adams'?" in str(info.value)


def test_extends_not_found_names_the_folder_searched(tmp_path):
    sub = tmp_path / "mine"
    sub.mkdir()
    f = sub / "variant.yaml"
    f.write_text("extends: default.yaml\nname: x\n")
    text = "\n".join(problems_of_path(f))
    assert f"looked for {sub / 'default.yaml'}" in text
    assert "relative to the folder of the file that names it" in text


def test_parameter_sources_take_the_comment_above_a_key():
    from sim.inputs.parameters import parameter_sources

    sources = parameter_sources(DEFAULT)
    assert "EVIDENCE 2.1" in sources["demand.requests_per_patient_year"]
    assert sources["population.size"].startswith("EVIDENCE 3.2")


def test_removing_a_team_member_without_fixing_the_team_is_named(tmp_path):
    f = tmp_path / "variant.yaml"
    f.write_text(f"extends: {DEFAULT}\nclinicians:\n  - {{id: pn_morgan, remove: true}}\n")
    text = "\n".join(problems_of_path(f))
    assert "teams[2].members[2]: unknown clinician 'pn_morgan'" in text


def test_every_default_parameter_shows_its_source_or_says_assumption():
    """The report's parameter table never says 'no source noted' for the default practice."""
    from sim.inputs.parameters import parameter_rows, parameter_sources

    rows = parameter_rows(load_scenario(DEFAULT), parameter_sources(DEFAULT))
    assert len(rows) > 300
    unsourced = [r["parameter"] for r in rows if "no source noted" in r["source"]
                 or not r["source"]]
    assert not unsourced, unsourced
    defaults = [r for r in rows if r["source"].startswith("built-in default")]
    assert defaults and all("ASSUMPTION" in r["source"] or "EVIDENCE" in r["source"]
                            for r in defaults)


def test_no_file_refers_outside_the_repository():
    """The project stands alone: no references to the source material beside it."""
    import re

    pattern = re.compile(r"\.\./shared|EVIDENCE\.md|DESIGN\.md|STYLE\.md|\bseed 00\d")
    offenders = []
    for path in ROOT.rglob("*"):
        if (path.suffix in (".py", ".yaml", ".md", ".toml", ".txt") and path.is_file()
                and not {".git", "results"} & set(path.parts)
                and path.name != "test_scenario_loading.py"):
            if pattern.search(path.read_text(encoding="utf-8", errors="ignore")):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_an_empty_list_is_named_in_plain_words():
    from sim import ScenarioError, load_scenario

    with pytest.raises(ScenarioError) as e:
        load_scenario(DEFAULT, {"practice.opening.days": []})
    assert "practice.opening.days: give at least 1 item (got 0)" in str(e.value)
    assert "Tuple" not in str(e.value)


def test_a_file_read_again_is_parsed_once_but_each_reader_gets_its_own_data(tmp_path):
    """A network reads its base scenario once per practice: the parse is remembered."""
    from sim.inputs import yaml_files

    f = tmp_path / "s.yaml"
    f.write_text("a:\n  b: [1, 2]\n", encoding="utf-8")
    first = yaml_files.read_yaml(f)
    first.data["a"]["b"].append(3)  # a reader changing its copy changes no one else's
    hits = yaml_files._parsed.cache_info().hits
    again = yaml_files.read_yaml(f)
    assert yaml_files._parsed.cache_info().hits == hits + 1
    assert again.data == {"a": {"b": [1, 2]}} and again.lines[("a", "b")] == 2
    f.write_text("a:\n  b: [5]\n", encoding="utf-8")  # edited: read afresh
    assert yaml_files.read_yaml(f).data == {"a": {"b": [5]}}


@pytest.mark.parametrize("key, value", [
    ("population.size", 5), ("practice.opening.open", "07:00"), ("new.deep.key", 1),
    ("clinicians[gp_a].sessions[0]", "wed_pm"), ("clinicians[1].role", "anp"),
    ("clinicians[gp_c]", {"role": "gp", "sessions": ["mon_am"]}),
    ("clinicians[gp_a]", {"remove": True}), ("clinicians[gp_b]", {"sessions": ["fri_am"]}),
])
def test_an_override_copies_what_it_changes_and_leaves_its_input_as_it_was(key, value):
    """Only the mappings and lists on the key's path are copied; the input never changes."""
    import copy

    from sim.inputs.overrides import apply_override

    data = {"population": {"size": 1000}, "practice": {"opening": {"open": "08:00"}},
            "clinicians": [{"id": "gp_a", "role": "gp", "sessions": ["mon_am", "tue_am"]},
                           {"id": "gp_b", "role": "gp", "sessions": ["mon_pm"]}]}
    before = copy.deepcopy(data)
    out, _ = apply_override(data, key, value)
    assert data == before  # the input is as it was
    again, _ = apply_override(copy.deepcopy(before), key, value)
    assert out == again  # the same result as on a fresh copy
    out2, _ = apply_override(out, "population.size", 7)  # a second key on the first's result
    assert out2["population"]["size"] == 7 and out["population"] == again["population"]


#: Overrides across a scenario's parts: scalars at the top, nested keys, list items by id,
#: items added and removed, a policy with its parameters, teams formed from the workforce.
VARIANTS = [
    {},
    {"warmup_days": 7, "duration_days": 28},
    {"roles.gp.slots_per_session": 14, "policy.name": "usual_gp_first"},
    {"practice.booking_horizon_days": 21, "population.size": 3000},
    {"clinicians[gp_hughes].sessions": ["mon_am"]},
    {"clinicians[gp_new]": {"role": "gp", "sessions": ["mon_am"]},
     "teams[east].members": ["gp_evans", "pa_patel", "ph_nowak"]},
    {"policy.name": "personalised_micro_teams", "policy.params.adherence": 0.6},
    {"policy.name": "micro_team", "teams": [], "team_formation": {"gps_per_team": 2}},
    {"demand.requests_per_patient_year": 4.4, "dna.by_lead_days[0].probability": 0.03,
     "seed": 7},
]
#: Overrides with problems: in the changed parts, and one that breaks a reference from a
#: part left as the file has it (a team member removed).
BAD_VARIANTS = [
    {"population.size": -5},
    {"population.size": True, "roles.gp.slots_per_session": "many"},
    {"clinicians[pn_morgan]": {"remove": True}},
    {"policy.name": "no_such_policy"},
    {"practice.nonsense": 1},
]


def test_a_file_loaded_with_many_overrides_is_what_loading_each_afresh_gives(tmp_path):
    """:class:`ScenarioVariants` (a sweep's points): the same scenarios, the same problems."""
    from sim.inputs.variants import ScenarioVariants

    loads = ScenarioVariants(DEFAULT)
    assert {"population", "roles", "clinicians", "policy"} <= set(loads.parts)  # reused
    for overrides in VARIANTS:
        got, afresh = loads.load(overrides), load_scenario(DEFAULT, overrides)
        assert got == afresh, overrides
        assert resolved_yaml(got) == resolved_yaml(afresh), overrides
    for overrides in BAD_VARIANTS:
        with pytest.raises(ScenarioError) as afresh:
            load_scenario(DEFAULT, overrides)
        with pytest.raises(ScenarioError) as got:
            loads.load(overrides)
        assert got.value.problems == afresh.value.problems, overrides
        assert str(got.value) == str(afresh.value)
    # A file that needs an override to be whole: each load validated from scratch.
    partial = tmp_path / "partial.yaml"
    partial.write_text(f"extends: {DEFAULT}\npopulation: {{size: 0}}\n")
    loads = ScenarioVariants(partial)
    assert loads.parts == {}
    assert loads.load({"population.size": 900}) == load_scenario(partial,
                                                                 {"population.size": 900})
    # A file that cannot be read: each load reports it, as loading it afresh does.
    broken = tmp_path / "broken.yaml"
    broken.write_text("population: [unclosed\n")
    loads = ScenarioVariants(broken)
    for _ in range(2):
        with pytest.raises(ScenarioError) as afresh:
            load_scenario(broken, {"population.size": 900})
        with pytest.raises(ScenarioError) as got:
            loads.load({"population.size": 900})
        assert str(got.value) == str(afresh.value)

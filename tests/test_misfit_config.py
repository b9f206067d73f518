"""Config: defaults, derived tags, YAML round trip, validation naming keys."""
import pytest
import yaml

from spark_seis.processing.config import Config, ConfigError


def test_defaults_match_pyatoa():
    c = Config(event_id="2018p130600")
    assert (c.min_period, c.max_period) == (10.0, 100.0)
    assert c.filter_corners == 2 and c.zerophase is True
    assert c.unit_output == "DISP" and c.rotate_to_rtz is False
    assert c.component_list == ["E", "N", "Z"]
    assert c.pyflex_preset == "default" and c.adj_src_type == "cc_traveltime"
    assert c.aux_path == "default" and c.synthetic_tag == "synthetic"
    pf = c.pyflex_config()
    assert (pf.min_period, pf.max_period, pf.stalta_waterlevel) == (10, 100,
                                                                   0.07)
    pa = c.pyadjoint_config()
    assert pa.adjsrc_type == "cc_traveltime" and pa.max_period == 100


def test_tags_from_iteration_and_step():
    c = Config(iteration=1, step_count=0)
    assert c.synthetic_tag == "synthetic_i01s00"
    assert c.aux_path == "i01/s00" and c.eval_tag == "i01s00"
    assert Config(iteration=12).aux_path == "i12"
    assert Config(synthetic_tag_override="synthetic_x").synthetic_tag == \
        "synthetic_x"


def test_rtz_components_and_aliases():
    c = Config(rotate_to_rtz=True, adj_src_type="multitaper_misfit")
    assert c.component_list == ["R", "T", "Z"]
    assert c.adj_src_type == "multitaper"
    with pytest.raises(ConfigError, match="component_list"):
        Config(rotate_to_rtz=True, component_list=["N", "Z"])


def test_yaml_round_trip(tmp_path):
    c = Config(event_id="ev", iteration=2, step_count=3, min_period=8,
               max_period=40, pyflex_parameters={"stalta_waterlevel": 0.1},
               pyadjoint_parameters={"taper_percentage": 0.2})
    path = c.save_yaml(tmp_path / "c.yaml")
    assert Config.load_yaml(path) == c
    assert yaml.safe_load(path.read_text())["pyflex_parameters"] == {
        "stalta_waterlevel": 0.1}
    assert Config.load_yaml(path).pyflex_config().stalta_waterlevel == 0.1


def test_conf_misfit_yaml_loads_and_equals_defaults():
    from pathlib import Path
    path = Path(__file__).parents[1] / "conf" / "misfit.yaml"
    assert Config.load_yaml(path) == Config()


@pytest.mark.parametrize("doc, key", [
    ({"min_periodd": 3}, "min_periodd"),
    ({"unit_output": "MPH"}, "unit_output"),
    ({"min_period": 50, "max_period": 10}, "min_period"),
    ({"min_period": "ten"}, "min_period"),
    ({"iteration": 0}, "iteration"),
    ({"step_count": -1}, "step_count"),
    ({"adj_src_type": "l2"}, "adj_src_type"),
    ({"pyflex_preset": "nope"}, "pyflex_preset"),
    ({"pyflex_parameters": {"c_9": 1}}, "pyflex_parameters.c_9"),
    ({"pyadjoint_parameters": {"bogus": 1}}, "pyadjoint_parameters.bogus"),
    ({"zerophase": "yes"}, "zerophase"),
    ({"filter_corners": 2.5}, "filter_corners"),
])
def test_bad_keys_and_values_name_the_key(doc, key):
    with pytest.raises(ConfigError) as err:
        Config.from_dict(doc)
    assert repr(key) in str(err.value) or key in str(err.value)


def test_yaml_unknown_key_error_names_key(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("min_period: 10\nmax_perod: 30\n")
    with pytest.raises(ConfigError, match="max_perod"):
        Config.load_yaml(p)


def test_yaml_is_loaded_safely(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("event_id: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(yaml.YAMLError):
        Config.load_yaml(p)

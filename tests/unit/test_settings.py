import pytest

from aas_server.errors import InvalidRequestError
from aas_server.settings import Settings

pytestmark = pytest.mark.unit


def test_environment_overrides_file_and_defaults(tmp_path):
    config = tmp_path / "aas.yaml"
    config.write_text("mongodb_database: fromfile\nmax_page_limit: 50\n")
    settings = Settings.load({"AAS_CONFIG_FILE": str(config), "AAS_MAX_PAGE_LIMIT": "20"})
    assert settings.mongodb_database == "fromfile"
    assert settings.max_page_limit == 20
    assert settings.store_kind == "embedded"
    assert Settings.load({"AAS_MONGODB_URI": "mongodb://h/"}).store_kind == "mongo"


def test_cli_overrides_win_and_none_is_ignored():
    settings = Settings.load({"AAS_DATA_DIR": "/env"}, data_dir="/cli", mongodb_uri=None)
    assert settings.data_dir == "/cli"


@pytest.mark.parametrize(("content", "message"), [("unknown_key: 1\n", "unknown setting"),
                                                  ("max_page_limit: many\n", "max_page_limit"),
                                                  ("- a list\n", "mapping")])
def test_bad_config_is_refused_with_its_path(tmp_path, content, message):
    config = tmp_path / "aas.yaml"
    config.write_text(content)
    with pytest.raises(InvalidRequestError) as info:
        Settings.load({"AAS_CONFIG_FILE": str(config)})
    assert message in str(info.value)


def test_readme_lists_every_setting_and_gunicorn_variable():
    """README's configuration table is the operator's one reference: it must name every setting."""
    import dataclasses
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    gunicorn = set(re.findall(r'"(AAS_[A-Z_]+)"', (root / "deploy" / "gunicorn.conf.py").read_text()))
    wanted = {f"AAS_{field.name.upper()}" for field in dataclasses.fields(Settings)} | gunicorn
    assert sorted(name for name in wanted if f"`{name}`" not in readme) == []

"""The integration tier's shared Prefect server and serving process, one for all its modules."""

from tests.support.prefect_env import prefect_env_fixture  # noqa: F401 - the session fixture

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import ephem.models  # noqa: F401  (registers the tables)
from ephem.core.db import make_engine
from ephem.core.settings import get_settings, normalize_db_url

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = normalize_db_url(
    config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url") or get_settings().db_url
)
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        # Batch mode lets ALTERs work on SQLite too.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Settings for every process of wuye, read once from the environment."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT / "var"

# Development has fixed, public secrets so that `make run` needs no set-up;
# production refuses to start with them (see `_secrets_in_production`).
DEVELOPMENT_SECRET = "development-only-secret-not-for-production"


class Settings(BaseSettings):
    """All configuration, grouped by concern."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias="WUYE_ENV"
    )

    # Application database (the read model).
    database_url: str = f"sqlite:///{VAR_DIR / 'wuye.db'}"

    # Temporal.
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "wuye"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # Run workflow code in Temporal's sandbox (see wuye/worker.py). The tests
    # turn it on; workers run without it unless this is set.
    workflow_sandbox: bool = False

    # Mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_from: str = "wuye@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    # Where the development SMTP sink keeps what it receives.
    mail_sink_dir: Path = VAR_DIR / "mail"

    # Web.
    secret_key: str = DEVELOPMENT_SECRET
    # Unset: Secure cookies everywhere but in development over plain HTTP.
    session_cookie_secure: bool | None = None
    session_hours: int = 12
    public_base_url: str = "http://127.0.0.1:8000"
    # Server processes `wuye web` starts: one Python process runs one
    # request's code at a time. Read by uvicorn itself in the Dockerfile.
    web_concurrency: int = 2

    @model_validator(mode="after")
    def _secrets_in_production(self) -> "Settings":
        if self.env == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("SECRET_KEY must be set in production")
        return self

    @property
    def is_development(self) -> bool:
        return self.env != "production"

    @property
    def cookie_secure(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return not self.is_development


@lru_cache
def get_settings() -> Settings:
    """The one settings instance of this process."""
    return Settings()

"""AWS Lambda entry point: the FastAPI app behind API Gateway, adapted by Mangum."""

from mangum import Mangum
from pydantic_settings import BaseSettings, SettingsConfigDict

from titiler.main import app


class HandlerSettings(BaseSettings):
    """How the function is reached (environment prefix `TITILER_`)."""

    model_config = SettingsConfigDict(env_prefix="TITILER_", extra="ignore")

    #: A prefix API Gateway leaves in the path (a REST stage such as `/dev`, or a custom
    #: domain's base path mapping); Mangum strips it before routing.
    api_gateway_base_path: str = "/"


handler: Mangum = Mangum(
    app, lifespan="off", api_gateway_base_path=HandlerSettings().api_gateway_base_path
)
